"""check_frontier_svg.py PLOT.svg TABLE.txt: parses the SVG (exits non-zero
when it is not well-formed XML or not an <svg>), checks that every row of
`mpcc compile --approx frontier`'s table is in it, as a point at the row's
online ms and error when the row has both, else listed as not plotted, and
that each point's marker lies inside the plot; prints one line per row."""
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
if root.tag != NS + "svg":
    sys.exit(f"root element {root.tag}, expected svg")
width, height = float(root.get("width")), float(root.get("height"))

points, unplaced = {}, set()
for g in root.iter(NS + "g"):
    if g.get("class") == "point":
        points[g.get("data-name")] = g
for t in root.iter(NS + "text"):
    if t.get("data-name") is not None:
        unplaced.add(t.get("data-name"))

rows = open(sys.argv[2]).read().splitlines()[2:]
failed = False
for row in rows:
    # "NAME  MS  ERROR  NOTE": the name may hold spaces (auto --max-error E).
    name = row[:44].rstrip()
    ms, err = row[44:].split()[:2]
    if ms != "-" and err != "-":
        g = points.get(name)
        if g is None:
            print(f"missing point {name}")
            failed = True
            continue
        if abs(float(g.get("data-ms")) - float(ms)) > 1e-3 * max(1, float(ms)) or \
           abs(float(g.get("data-error")) - float(err)) > 1e-2 * float(err):
            print(f"point {name} at {g.get('data-ms')} ms, {g.get('data-error')}; table {ms}, {err}")
            failed = True
        marker = g.find(NS + "circle")
        if marker is not None:
            x, y = float(marker.get("cx")), float(marker.get("cy"))
        else:
            xy = [tuple(map(float, p.split(","))) for p in g.find(NS + "polygon").get("points").split()]
            x, y = sum(p[0] for p in xy) / len(xy), sum(p[1] for p in xy) / len(xy)
        if not (0 <= x <= width and 0 <= y <= height):
            print(f"point {name} outside the plot at {x}, {y}")
            failed = True
        print(f"point {name}")
    else:
        print(f"{'unplaced' if name in unplaced else 'missing'} {name}")
        failed |= name not in unplaced
sys.exit(1 if failed else 0)
