#include "search/williams.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "base/error.hpp"

namespace proxysim {

namespace {

// The continued fraction of the incomplete beta function (modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < 1e-15) break;
  }
  return h;
}

// The regularised incomplete beta function I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double dof) {
  if (!(dof > 0)) throw UserError("student_t_cdf: " + std::to_string(dof) + " degrees of freedom, expected > 0");
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * incomplete_beta(0.5 * dof, 0.5, dof / (dof + t * t));
  return t > 0 ? 1 - tail : tail;
}

double williams_t(double r_ya, double r_yb, double r_ab, int64_t n) {
  if (n < 4) throw UserError("williams_t: " + std::to_string(n) + " samples, expected at least 4");
  const double m = static_cast<double>(n);
  const double det = 1 - r_ya * r_ya - r_yb * r_yb - r_ab * r_ab + 2 * r_ya * r_yb * r_ab;
  const double mean = 0.5 * (r_ya + r_yb);
  const double den = 2 * (m - 1) / (m - 3) * det + mean * mean * std::pow(1 - r_ab, 3);
  const double diff = r_ya - r_yb;
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (!(den > 0)) return diff > 0 ? inf : diff < 0 ? -inf : 0.0;  // a perfect correlation: no sampling error left
  return diff * std::sqrt((m - 1) * (1 + r_ab) / den);
}


}  // namespace proxysim
