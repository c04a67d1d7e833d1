"""mpcc_distill: MPCFormer's recipe for mpcc. Replace a teacher's GeLU and
softmax by approximations from mpcc's registry (by name), distil the student
layer-wise and then on predictions, and export an ONNX file `mpcc compile`
compiles to those approximations. `python3 -m mpcc_distill --help`.
"""
