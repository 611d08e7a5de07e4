// Williams' test for two dependent correlations that share a variable: anchored's
// decision between a fit and the unadapted proxy (docs/ARCHITECTURE.md, "anchored:
// adapt only on evidence").
#pragma once
#include <cstdint>

namespace proxysim {

// P(T <= t) for Student's t with `dof` > 0 degrees of freedom (the regularised
// incomplete beta function by its continued fraction, Numerical Recipes Sec. 6.4).
double student_t_cdf(double t, double dof);

// Williams' t for two dependent correlations that share a variable y (Steiger 1980,
// Psychological Bulletin 87, Eq. 3): H0 rho(y, a) = rho(y, b), given r(y, a), r(y, b),
// r(a, b) over n samples; Student's t with n - 3 degrees of freedom under H0.
double williams_t(double r_ya, double r_yb, double r_ab, int64_t n);

}  // namespace proxysim
