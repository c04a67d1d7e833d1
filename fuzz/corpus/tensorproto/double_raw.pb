B
double_rawJZãW,á¿sh}¬Ž/Ô?õ“´~òÚ?