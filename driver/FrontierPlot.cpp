//===- driver/FrontierPlot.cpp - The frontier as an SVG plot --------------===//
//
// A self-contained SVG (no script, no external style or font): axes, ticks,
// one marker and label per point, and the points that could not be placed
// listed under the plot. Cost runs linearly across from 0; error runs up on
// a log scale over whole decades around the points' errors (an error of 0,
// which a log scale cannot show, is drawn on the lowest decade's line and
// labelled "0").
//
//===----------------------------------------------------------------------===//
#include "driver/ApproxAuto.h"

#include "support/Diag.h"

#include <algorithm>
#include <cmath>

using namespace mpc;

namespace {

constexpr double kWidth = 760, kHeight = 480;
constexpr double kLeft = 80, kRight = 190, kTop = 40, kBottom = 60;

/// Escapes text for an SVG text node or attribute value.
std::string xmlEscape(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

/// A tick step of 1, 2 or 5 times a power of ten giving about \p n ticks
/// over [0, hi].
double niceStep(double hi, int n) {
  double raw = hi / n;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw)
      return m * p;
  return 10 * p;
}

} // namespace

std::string mpc::frontierSvg(const Frontier &f) {
  std::vector<const FrontierPoint *> placed, unplaced;
  for (const FrontierPoint &p : f.points)
    (p.seconds && p.error ? placed : unplaced).push_back(&p);

  // Axes' ranges: ms from 0 to a tick above the largest; error over the
  // decades that hold every positive error.
  double maxMs = 0, minErr = INFINITY, maxErr = 0;
  for (const FrontierPoint *p : placed) {
    maxMs = std::max(maxMs, *p->seconds * 1e3);
    if (*p->error > 0)
      minErr = std::min(minErr, *p->error);
    maxErr = std::max(maxErr, *p->error);
  }
  if (maxMs <= 0)
    maxMs = 1;
  double xStep = niceStep(maxMs, 5);
  double xMax = std::ceil(maxMs * 1.05 / xStep) * xStep;
  int decLo = std::isfinite(minErr) ? int(std::floor(std::log10(minErr))) : -4;
  int decHi = maxErr > 0 ? int(std::ceil(std::log10(maxErr))) : decLo + 1;
  if (decHi <= decLo)
    decHi = decLo + 1;

  double plotW = kWidth - kLeft - kRight, plotH = kHeight - kTop - kBottom;
  auto xOf = [&](double ms) { return kLeft + plotW * ms / xMax; };
  auto yOf = [&](double err) {
    double l = err > 0 ? std::log10(err) : double(decLo);
    return kTop + plotH * (decHi - l) / (decHi - decLo);
  };

  std::string s = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
      "height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n"
      "<title>Approximation frontier: predicted online time on {2} vs "
      "simulated error</title>\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{3}\" y=\"22\" font-size=\"13\">Approximation frontier: "
      "the approximated ops' predicted online ms vs the model's error</text>\n",
      kWidth, kHeight + 16.0 * double(unplaced.size()), xmlEscape(f.netName),
      kLeft);
  // Axes, grid and ticks.
  s += fmt::format("<g class=\"axes\" stroke=\"black\" fill=\"none\">\n"
                   "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n"
                   "</g>\n",
                   kLeft, kTop, plotW, plotH);
  s += "<g class=\"xticks\">\n";
  for (double v = 0; v <= xMax + xStep / 2; v += xStep) {
    double x = xOf(v);
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" "
                     "y2=\"{2}\" stroke=\"#ddd\"/>\n"
                     "<text x=\"{0:.1f}\" y=\"{3}\" "
                     "text-anchor=\"middle\">{4:g}</text>\n",
                     x, kTop, kTop + plotH, kTop + plotH + 16, v);
  }
  s += "</g>\n<g class=\"yticks\">\n";
  for (int d = decLo; d <= decHi; ++d) {
    double y = yOf(std::pow(10.0, d));
    s += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" "
                     "y2=\"{1:.1f}\" stroke=\"#ddd\"/>\n"
                     "<text x=\"{3}\" y=\"{4:.1f}\" "
                     "text-anchor=\"end\">1e{5}</text>\n",
                     kLeft, y, kLeft + plotW, kLeft - 6, y + 4, d);
  }
  s += fmt::format(
      "</g>\n"
      "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">predicted online "
      "ms on {2}</text>\n"
      "<text x=\"18\" y=\"{3}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 18 {3})\">max |output - float| "
      "(log)</text>\n",
      kLeft + plotW / 2, kTop + plotH + 40, xmlEscape(f.netName),
      kTop + plotH / 2);
  // The points: presets as circles, auto as diamonds; hollow where a
  // note says the preset does not apply to this model or these samples.
  s += "<g class=\"points\">\n";
  for (const FrontierPoint *p : placed) {
    double x = xOf(*p->seconds * 1e3), y = yOf(*p->error);
    bool applies = p->isAuto || p->note.empty();
    std::string colour = p->isAuto ? "#c0392b" : "#1f5fa8";
    std::string fill = applies ? colour : "white";
    std::string name = xmlEscape(p->name);
    std::string tip =
        fmt::format("{}: {:.3f} ms, error {:.3g}{}{}", name, *p->seconds * 1e3,
                    *p->error, p->note.empty() ? "" : "; ", xmlEscape(p->note));
    s += fmt::format("<g class=\"point\" data-name=\"{}\" data-ms=\"{:.6g}\" "
                     "data-error=\"{:.6g}\">\n<title>{}</title>\n",
                     name, *p->seconds * 1e3, *p->error, tip);
    if (p->isAuto)
      s += fmt::format("<polygon points=\"{0:.1f},{1:.1f} {2:.1f},{3:.1f} "
                       "{0:.1f},{4:.1f} {5:.1f},{3:.1f}\" fill=\"{6}\" "
                       "stroke=\"{7}\" stroke-width=\"1.5\"/>\n",
                       x, y - 6, x + 6, y, y + 6, x - 6, fill, colour);
    else
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" "
                       "fill=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"/>\n",
                       x, y, fill, colour);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}{}</text>\n</g>\n",
                     x + 8, y - 6, name, *p->error > 0 ? "" : " (error 0)");
  }
  s += "</g>\n";
  // Legend, right of the plot.
  double lx = kLeft + plotW + 16;
  s += fmt::format(
      "<g class=\"legend\">\n"
      "<circle cx=\"{0}\" cy=\"{1}\" r=\"5\" fill=\"#1f5fa8\"/>"
      "<text x=\"{2}\" y=\"{3}\">preset</text>\n"
      "<circle cx=\"{0}\" cy=\"{4}\" r=\"5\" fill=\"white\" "
      "stroke=\"#1f5fa8\" stroke-width=\"1.5\"/>"
      "<text x=\"{2}\" y=\"{5}\">preset, noted (see</text>\n"
      "<text x=\"{2}\" y=\"{6}\">the text table)</text>\n"
      "<polygon points=\"{0},{7} {8},{9} {0},{10} {11},{9}\" "
      "fill=\"#c0392b\"/><text x=\"{2}\" y=\"{12}\">auto at a budget</text>\n"
      "</g>\n",
      lx, kTop + 10, lx + 10, kTop + 14, kTop + 30, kTop + 34, kTop + 48,
      kTop + 64, lx + 6, kTop + 70, kTop + 76, lx - 6, kTop + 74);
  // What could not be placed, and why.
  double ny = kHeight - 4;
  s += "<g class=\"unplaced\">\n";
  for (const FrontierPoint *p : unplaced) {
    s +=
        fmt::format("<text x=\"{}\" y=\"{:.0f}\" data-name=\"{}\">not "
                    "plotted: {}: {}</text>\n",
                    kLeft, ny, xmlEscape(p->name), xmlEscape(p->name),
                    xmlEscape(p->note.empty() ? "no error computed" : p->note));
    ny += 16;
  }
  s += "</g>\n</svg>\n";
  return s;
}
