import numpy as np, pandas as pd, warnings, time
import pyfixest as pf
from skbigreg.linear_model import CumulativePoissonFixedEffects
rng = np.random.default_rng(0)
n = 4000
f1 = rng.integers(0, 150, n); f2 = rng.integers(0, 20, n)
a = rng.normal(size=150)[f1] + 0.5*rng.normal(size=20)[f2]
x1 = rng.normal(size=n) + a; x2 = rng.normal(size=n)
y = rng.poisson(np.exp(0.3*x1 - 0.2*x2 + a - 1)).astype(float)
df = pd.DataFrame(dict(y=y, x1=x1, x2=x2, f1=f1, f2=f2, cl=f1 // 10))
for vc, ct, kw in [("iid","nonrobust",{}), ("hetero","HC1",{}), ({"CRV1":"cl"},"cluster",{"clusters":df.cl})]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.fepois("y ~ x1 + x2 | f1 + f2", df, vcov=vc, fixef_rm="none", fixef_tol=1e-12)
    t=time.perf_counter()
    est = CumulativePoissonFixedEffects(cov_type=ct).fit(df[["x1","x2"]], y, entities=df[["f1","f2"]], **kw)
    r = est.results()
    print(ct, est.n_iter_, m._N, est.nobs_, est.n_dropped_rows_, time.perf_counter()-t)
    print(np.abs(est.coef_ - m.coef().values).max(), np.abs(r.bse.values/m.se().values - 1).max())
