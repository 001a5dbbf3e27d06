"""torch.special's Bessel functions and orthogonal polynomials, as PyTorch computes them: its own algorithms
(Cephes' rational and Chebyshev approximations with their published coefficients, the polynomials' recurrences and
special cases, as PyTorch's ATen ``Math.h`` uses them) written in array ops, so NumPy and CuPy give PyTorch's values.
SciPy's functions differ: its y0 and y1 are more exact than PyTorch's beyond 5, its airy is 0 from 25.77, cupyx has no
airy and its k0e, exp(x) k0(x), is NaN for large x."""

from __future__ import annotations

import math

import numpy

_AIRY_AI_AN = (3.46538101525629032477e-01, 1.20075952739645805542e+01, 7.62796053615234516538e+01, 1.68089224934630576269e+02,
    1.59756391350164413639e+02, 7.05360906840444183113e+01, 1.40264691163389668864e+01, 9.99999999999999995305e-01)
_AIRY_AI_AD = (5.67594532638770212846e-01, 1.47562562584847203173e+01, 8.45138970141474626562e+01, 1.77318088145400459522e+02,
    1.64234692871529701831e+02, 7.14778400825575695274e+01, 1.40959135607834029598e+01, 1.00000000000000000470e+00)
_AIRY_AI_AFN = (-1.31696323418331795333e-01, -6.26456544431912369773e-01, -6.93158036036933542233e-01, -2.79779981545119124951e-01,
    -4.91900132609500318020e-02, -4.06265923594885404393e-03, -1.59276496239262096340e-04, -2.77649108155232920844e-06,
    -1.67787698489114633780e-08)
_AIRY_AI_AFD = (1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01, 9.18707402907259625840e+00,
    1.47529146771666414581e+00, 1.15687173795188044134e-01, 4.40291641615211203805e-03, 7.54720348287414296618e-05,
    4.51850092970580378464e-07)
_AIRY_AI_AGN = (1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00, 9.39169229816650230044e-01,
    3.51465656105547619242e-01, 6.33888919628925490927e-02, 5.85804113048388458567e-03, 2.82851600836737019778e-04,
    6.98793669997260967291e-06, 8.11789239554389293311e-08, 3.41551784765923618484e-10)
_AIRY_AI_AGD = (9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01, 5.47686069422975497931e+00,
    9.54293611618961883998e-01, 8.64580826352392193095e-02, 4.12656523824222607191e-03, 1.01259085116509135510e-04,
    1.17166733214413521882e-06, 4.91834570062930015649e-09)
_J0_PP = (7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00, 5.44725003058768775090e+00,
    8.74716500199817011941e+00, 5.30324038235394892183e+00, 9.99999999999999997821e-01)
_J0_PQ = (9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00, 5.47097740330417105182e+00,
    8.76190883237069594232e+00, 5.30605288235394617618e+00, 1.00000000000000000218e+00)
_J0_QP = (-1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01, -9.32060152123768231369e+01,
    -1.77681167980488050595e+02, -1.47077505154951170175e+02, -5.14105326766599330220e+01, -6.05014350600728481186e+00)
_J0_QQ = (6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03, 7.24046774195652478189e+03,
    5.93072701187316984827e+03, 2.06209331660327847417e+03, 2.42005740240291393179e+02)
_J0_RP = (-4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14, 9.70862251047306323952e+15)
_J0_RQ = (4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07, 1.11855537045356834862e+10,
    2.11277520115489217587e+12, 3.10518229857422583814e+14, 3.18121955943204943306e+16, 1.71086294081043136091e+18)
_J1_PP = (7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00, 5.11207951146807644818e+00,
    8.42404590141772420927e+00, 5.21451598682361504063e+00, 1.00000000000000000254e+00)
_J1_PQ = (5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00, 5.07386386128601488557e+00,
    8.39985554327604159757e+00, 5.20982848682361821619e+00, 9.99999999999999997461e-01)
_J1_QP = (5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01, 3.66779609360150777800e+02,
    7.10856304998926107277e+02, 5.97489612400613639965e+02, 2.11688757100572135698e+02, 2.52070205858023719784e+01)
_J1_QQ = (7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03, 9.56231892404756170795e+03,
    7.99704160447350683650e+03, 2.82619278517639096600e+03, 3.36093607810698293419e+02)
_J1_RP = (-8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13, 3.68295732863852883286e+15)
_J1_RQ = (6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07, 2.21511595479792499675e+10,
    4.74914122079991414898e+12, 7.84369607876235854894e+14, 8.95222336184627338078e+16, 5.32278620332680085395e+18)
_Y0_YP = (1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09, -9.82136065717911466409e+11,
    8.75906394395366999549e+13, -3.46628303384729719441e+15, 4.42733268572569800351e+16, -1.84950800436986690637e+16)
_Y0_YQ = (1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08, 8.64002487103935000337e+10,
    2.02979612750105546709e+13, 3.17157752842975028269e+15, 2.50596256172653059228e+17)
_Y1_YP = (1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14, -8.12770255501325109621e+15,
    2.02439475713594898196e+17, -7.78877196265950026825e+17)
_Y1_YQ = (5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07, 1.87601316108706159478e+10,
    3.88231277496238566008e+12, 6.20557727146953693363e+14, 6.87141087355300489866e+16, 3.97270608116560655612e+18)
_I0_A = (-4.41534164647933937950e-18, 3.33079451882223809783e-17, -2.43127984654795469359e-16, 1.71539128555513303061e-15,
    -1.16853328779934516808e-14, 7.67618549860493561688e-14, -4.85644678311192946090e-13, 2.95505266312963983461e-12,
    -1.72682629144155570723e-11, 9.67580903537323691224e-11, -5.18979560163526290666e-10, 2.65982372468238665035e-09,
    -1.30002500998624804212e-08, 6.04699502254191894932e-08, -2.67079385394061173391e-07, 1.11738753912010371815e-06,
    -4.41673835845875056359e-06, 1.64484480707288970893e-05, -5.75419501008210370398e-05, 1.88502885095841655729e-04,
    -5.76375574538582365885e-04, 1.63947561694133579842e-03, -4.32430999505057594430e-03, 1.05464603945949983183e-02,
    -2.37374148058994688156e-02, 4.93052842396707084878e-02, -9.49010970480476444210e-02, 1.71620901522208775349e-01,
    -3.04682672343198398683e-01, 6.76795274409476084995e-01)
_I0_B = (-7.23318048787475395456e-18, -4.83050448594418207126e-18, 4.46562142029675999901e-17, 3.46122286769746109310e-17,
    -2.82762398051658348494e-16, -3.42548561967721913462e-16, 1.77256013305652638360e-15, 3.81168066935262242075e-15,
    -9.55484669882830764870e-15, -4.15056934728722208663e-14, 1.54008621752140982691e-14, 3.85277838274214270114e-13,
    7.18012445138366623367e-13, -1.79417853150680611778e-12, -1.32158118404477131188e-11, -3.14991652796324136454e-11,
    1.18891471078464383424e-11, 4.94060238822496958910e-10, 3.39623202570838634515e-09, 2.26666899049817806459e-08,
    2.04891858946906374183e-07, 2.89137052083475648297e-06, 6.88975834691682398426e-05, 3.36911647825569408990e-03,
    8.04490411014108831608e-01)
_I1_A = (2.77791411276104639959e-18, -2.11142121435816608115e-17, 1.55363195773620046921e-16, -1.10559694773538630805e-15,
    7.60068429473540693410e-15, -5.04218550472791168711e-14, 3.22379336594557470981e-13, -1.98397439776494371520e-12,
    1.17361862988909016308e-11, -6.66348972350202774223e-11, 3.62559028155211703701e-10, -1.88724975172282928790e-09,
    9.38153738649577178388e-09, -4.44505912879632808065e-08, 2.00329475355213526229e-07, -8.56872026469545474066e-07,
    3.47025130813767847674e-06, -1.32731636560394358279e-05, 4.78156510755005422638e-05, -1.61760815825896745588e-04,
    5.12285956168575772895e-04, -1.51357245063125314899e-03, 4.15642294431288815669e-03, -1.05640848946261981558e-02,
    2.47264490306265168283e-02, -5.29459812080949914269e-02, 1.02643658689847095384e-01, -1.76416518357834055153e-01,
    2.52587186443633654823e-01)
_I1_B = (7.51729631084210481353e-18, 4.41434832307170791151e-18, -4.65030536848935832153e-17, -3.20952592199342395980e-17,
    2.96262899764595013876e-16, 3.30820231092092828324e-16, -1.88035477551078244854e-15, -3.81440307243700780478e-15,
    1.04202769841288027642e-14, 4.27244001671195135429e-14, -2.10154184277266431302e-14, -4.08355111109219731823e-13,
    -7.19855177624590851209e-13, 2.03562854414708950722e-12, 1.41258074366137813316e-11, 3.25260358301548823856e-11,
    -1.89749581235054123450e-11, -5.58974346219658380687e-10, -3.83538038596423702205e-09, -2.63146884688951950684e-08,
    -2.51223623787020892529e-07, -3.88256480887769039346e-06, -1.10588938762623716291e-04, -9.76109749136146840777e-03,
    7.78576235018280120474e-01)
_K0_A = (1.37446543561352307156e-16, 4.25981614279661018399e-14, 1.03496952576338420167e-11, 1.90451637722020886025e-09,
    2.53479107902614945675e-07, 2.28621210311945178607e-05, 1.26461541144692592338e-03, 3.59799365153615016266e-02,
    3.44289899924628486886e-01, -5.35327393233902768720e-01)
_K0_B = (5.30043377268626276149e-18, -1.64758043015242134646e-17, 5.21039150503902756861e-17, -1.67823109680541210385e-16,
    5.51205597852431940784e-16, -1.84859337734377901440e-15, 6.34007647740507060557e-15, -2.22751332699166985548e-14,
    8.03289077536357521100e-14, -2.98009692317273043925e-13, 1.14034058820847496303e-12, -4.51459788337394416547e-12,
    1.85594911495471785253e-11, -7.95748924447710747776e-11, 3.57739728140030116597e-10, -1.69753450938905987466e-09,
    8.57403401741422608519e-09, -4.66048989768794782956e-08, 2.76681363944501510342e-07, -1.83175552271911948767e-06,
    1.39498137188764993662e-05, -1.28495495816278026384e-04, 1.56988388573005337491e-03, -3.14481013119645005427e-02,
    2.44030308206595545468e+00)
_K1_A = (-7.02386347938628759343e-18, -2.42744985051936593393e-15, -6.66690169419932900609e-13, -1.41148839263352776110e-10,
    -2.21338763073472585583e-08, -2.43340614156596823496e-06, -1.73028895751305206302e-04, -6.97572385963986435018e-03,
    -1.22611180822657148235e-01, -3.53155960776544875667e-01, 1.52530022733894777053e+00)
_K1_B = (-5.75674448366501715755e-18, 1.79405087314755922667e-17, -5.68946255844285935196e-17, 1.83809354436663880070e-16,
    -6.05704724837331885336e-16, 2.03870316562433424052e-15, -7.01983709041831346144e-15, 2.47715442448130437068e-14,
    -8.97670518232499435011e-14, 3.34841966607842919884e-13, -1.28917396095102890680e-12, 5.13963967348173025100e-12,
    -2.12996783842756842877e-11, 9.21831518760500529508e-11, -4.19035475934189648750e-10, 2.01504975519703286596e-09,
    -1.03457624656780970260e-08, 5.74108412545004946722e-08, -3.50196060308781257119e-07, 2.40648494783721712015e-06,
    -1.93619797416608296024e-05, 1.95215518471351631108e-04, -2.85781685962277938680e-03, 1.03923736576817238437e-01,
    2.72062619048444266945e+00)

_PI_4, _3PI_4 = 0.785398163397448309615660845819875721, 2.356194490192344928846982537459627163
_SQRT_2_PI, _2_PI = 0.797884560802865355879892119868763737, 0.636619772367581343075535053490057448


def _horner(z, coefficients):
    """sum c_i z^(N-1-i) by Horner's rule, as PyTorch's loops ``p = p * z + C[i]`` from p = 0 evaluate it (in z's dtype)."""
    out = 0.0
    for c in coefficients:
        out = out * z + c
    return out


def _clenshaw(y, coefficients):
    """Cephes' chbevl, the Chebyshev series sum' c_i T_i(y/2) by Clenshaw's recurrence, as PyTorch writes it out."""
    p, q, a = 0.0, 0.0, coefficients[0]
    for c in coefficients[1:]:
        p, q = q, a
        a = y * q - p + c
    return 0.5 * (a - p)


def airy_ai(xp, x):
    """The Airy function Ai as PyTorch's ``airy_ai_forward``: asymptotic forms below -2.09 and from 2.09, the
    Maclaurin series between (summed until a term is below eps of the sum); 0 above 103.892, NaN at +-inf."""
    root = xp.sqrt(-x)
    z = 1 / (-2.0 * x * root / 3)
    zz = z * z
    t = -2.0 * x * root / 3 + 0.25 * math.pi
    below = 0.564189583547756286948 / xp.sqrt(root) * (xp.sin(t) * (1 + zz * _horner(zz, _AIRY_AI_AFN) / _horner(zz, _AIRY_AI_AFD))
                                                        - xp.cos(t) * (z * _horner(zz, _AIRY_AI_AGN) / _horner(zz, _AIRY_AI_AGD)))
    zeta = 2.0 * x * xp.sqrt(x) / 3
    above = (0.564189583547756286948 * (_horner(1 / zeta, _AIRY_AI_AN) / _horner(1 / zeta, _AIRY_AI_AD))
             / (2.0 * xp.sqrt(xp.sqrt(x)) * xp.exp(zeta)))
    series = (x >= -2.09) & (x < 2.09)
    s = xp.where(series, x, 0)  # (0: its series ends at once)
    z = s * s * s
    f, g, m, n, t = xp.ones_like(s), s, xp.ones_like(s), s, xp.ones_like(s)
    eps, k = float(numpy.finfo(x.dtype).eps), 1.0
    running = t > eps
    while bool(running.any()):  # each element until its own last term is below eps of its sum (NaN: at once)
        m2 = m * z / (k + 1)
        n2 = n * z / (k + 2)
        m2 = m2 / (k + 2)
        f2 = f + m2
        n2 = n2 / (k + 3)
        g2 = g + n2
        m, n, f, g, t = (xp.where(running, new, old) for new, old in ((m2, m), (n2, n), (f2, f), (g2, g), (xp.abs(m2 / f2), t)))
        k += 3
        running = t > eps
    out = xp.where(series, 0.355028053887817239260 * f - 0.258819403792806798405 * g, xp.where(x < -2.09, below, above))
    return xp.where(xp.isinf(x), numpy.nan, xp.where(x > 103.892, 0, out)).astype(x.dtype, copy=False)


def bessel_y0(xp, x):
    """The Bessel function of the second kind of order 0 as PyTorch's ``bessel_y0_forward``: a rational function plus
    (2/pi) log(x) J0(x) up to 5, Hankel's asymptotic form beyond (with PyTorch's coefficients, which drop Cephes'
    implicit leading 1 of QQ: about 1e-8 from the exact value there); -inf at 0, NaN below."""
    xx = x * x
    j0 = xp.where(x < 0.00001, 1 - xx / 4,
                  (xx - 5.78318596294678452118e+00) * (xx - 3.04712623436620863991e+01) * _horner(xx, _J0_RP) / _horner(xx, _J0_RQ))
    near = _horner(xx, _Y0_YP) / _horner(xx, _Y0_YQ) + _2_PI * xp.log(x) * j0
    w = 25.0 / xx
    far = ((_horner(w, _J0_PP) / _horner(w, _J0_PQ) * xp.sin(x - _PI_4) + 5.0 / x * (_horner(w, _J0_QP) / _horner(w, _J0_QQ)) * xp.cos(x - _PI_4))
           * _SQRT_2_PI / xp.sqrt(x))
    return xp.where(x <= 5, xp.where(x == 0, -numpy.inf, xp.where(x < 0, numpy.nan, near)), far).astype(x.dtype, copy=False)


def bessel_y1(xp, x):
    """The Bessel function of the second kind of order 1 as PyTorch's ``bessel_y1_forward`` (as ``bessel_y0``)."""
    xx = x * x
    j1 = _horner(xx, _J1_RP) / _horner(xx, _J1_RQ) * x * (xx - 1.46819706421238932572e+01) * (xx - 4.92184563216946036703e+01)
    near = x * (_horner(xx, _Y1_YP) / _horner(xx, _Y1_YQ)) + _2_PI * (j1 * xp.log(x) - 1 / x)
    w = 5.0 / x * (5.0 / x)
    far = ((_horner(w, _J1_PP) / _horner(w, _J1_PQ) * xp.sin(x - _3PI_4) + 5.0 / x * (_horner(w, _J1_QP) / _horner(w, _J1_QQ)) * xp.cos(x - _3PI_4))
           * _SQRT_2_PI / xp.sqrt(x))
    return xp.where(x <= 5, xp.where(x == 0, -numpy.inf, xp.where(x <= 0, numpy.nan, near)), far).astype(x.dtype, copy=False)


def modified_bessel_i0(xp, x):
    """The modified Bessel function of the first kind of order 0 as PyTorch's ``modified_bessel_i0_forward``: a Chebyshev
    series in |x| up to 8 and in 32/|x| beyond, times exp|x| (so inf in float32 from about 88.7, as PyTorch's)."""
    a = xp.abs(x)
    near = xp.exp(a) * _clenshaw(a / 2.0 - 2.0, _I0_A)
    return xp.where(a <= 8, near, xp.exp(a) * _clenshaw(32.0 / a - 2.0, _I0_B) / xp.sqrt(a)).astype(x.dtype, copy=False)


def modified_bessel_i1(xp, x):
    """The modified Bessel function of the first kind of order 1 as PyTorch's ``modified_bessel_i1_forward``; odd."""
    a = xp.abs(x)
    out = xp.where(a <= 8, _clenshaw(a / 2.0 - 2.0, _I1_A) * a * xp.exp(a), xp.exp(a) * _clenshaw(32.0 / a - 2.0, _I1_B) / xp.sqrt(a))
    return xp.where(x < 0, -out, out).astype(x.dtype, copy=False)


def _modified_bessel_k(order, scaled):
    """The modified Bessel function of the second kind of order 0 or 1, or its scaled form exp(x) K(x), as PyTorch's
    ``modified_bessel_k0_forward`` and the others: up to 2 a Chebyshev series in x^2 with log(x/2) I(x), beyond one
    in 8/x times exp(-x) / sqrt(x); inf at 0, NaN below."""
    near_coefficients, far_coefficients = (_K0_A, _K0_B) if order == 0 else (_K1_A, _K1_B)

    def function(xp, x):
        series = _clenshaw(x * x - 2.0, near_coefficients)
        if order == 0:  # (PyTorch's K0, not its scaled K0, takes log(0.5 * x) in double, float32 too: so does this)
            near = series - (xp.log(x.astype(numpy.float64) * 0.5) if not scaled else xp.log(0.5 * x)) * modified_bessel_i0(xp, x)
        else:
            near = xp.log(0.5 * x) * modified_bessel_i1(xp, x) + series / x
        far = _clenshaw(8.0 / x - 2.0, far_coefficients) / xp.sqrt(x)
        near, far = (near * xp.exp(x), far) if scaled else (near, xp.exp(-x) * far)
        return xp.where(x == 0, numpy.inf, xp.where(x < 0, numpy.nan, xp.where(x <= 2, near, far))).astype(x.dtype, copy=False)

    function.__name__ = f"{'scaled_' if scaled else ''}modified_bessel_k{order}"
    return function


modified_bessel_k0, modified_bessel_k1 = _modified_bessel_k(0, False), _modified_bessel_k(1, False)
scaled_modified_bessel_k0, scaled_modified_bessel_k1 = _modified_bessel_k(0, True), _modified_bessel_k(1, True)


def spherical_bessel_j0(xp, x):
    """The spherical Bessel function of the first kind of order 0, sin(x) / x, as PyTorch's
    ``spherical_bessel_j0_forward``: its Maclaurin series below |x| = 0.5, 0 at +-inf."""
    xx = x * x
    series = _horner(xx, (1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0, 1.0))
    return xp.where(xp.isinf(x), 0, xp.where(xp.abs(x) < 0.5, series, xp.sin(x) / x)).astype(x.dtype, copy=False)


def _polynomial_operands(xp, x, n):
    """x and n as arrays of their dtype (the engine has promoted them together; a number takes the tensor's), broadcast,
    and the degree PyTorch's kernels read from n: ``static_cast<int64_t>(n)``, so truncated toward zero, and negative
    (so the polynomial 0) for NaN, +-inf and magnitudes from 2**63, which x86 converts to INT64_MIN."""
    dtype = next(a.dtype for a in (x, n) if hasattr(a, "dtype"))
    x, n = xp.asarray(x, dtype=dtype), xp.asarray(n, dtype=dtype)
    try:
        x, n = xp.broadcast_arrays(x, n)
    except ValueError:  # (in the words of NumPy's ufuncs, which the engine turns into PyTorch's)
        raise ValueError(f"operands could not be broadcast together with shapes {x.shape} {n.shape}") from None
    valid = xp.isfinite(n) & (xp.abs(n) < 2.0 ** 63)
    return x, xp.where(valid, xp.trunc(xp.where(valid, n, 0)), -1).astype(xp.int64)


def _fma(a, b, c):
    """a * b + c, rounded once in float32 as the fused multiply-add that PyTorch's compiled loops make of it (a float32
    product is exact in float64): the recurrences' float32 values are then its CPU kernels' to the bit, where rounding
    twice drifted by 1e-3 over a thousand steps. float64 rounds twice (there is no wider dtype here to round once in)."""
    if b.dtype == numpy.float32:
        return (a.astype(numpy.float64) * b + c).astype(numpy.float32)
    return a * b + c


def _recurrence(xp, out, mask, k, x, p, q, step):
    """PyTorch's three-term loops, ``r = step(j, x, p, q); p = q; q = r`` for j = 1 .. k - 1 from degree 0's p and degree
    1's q, elementwise where ``mask``, into ``out``. Each element stops at its own degree k, or at NaN (which it would
    keep). Only the elements still running are computed: one step of arrays per degree up to the largest degree."""
    flat = out.reshape(-1)
    index = xp.nonzero(mask.reshape(-1))[0]
    k, x = k.reshape(-1)[index], x.reshape(-1)[index]
    p, q = (xp.broadcast_to(xp.asarray(v, dtype=out.dtype), mask.shape).reshape(-1)[index] for v in (p, q))
    j = 1
    while index.size:
        done = (k <= j) | xp.isnan(q)
        if bool(done.any()):
            flat[index[done]] = q[done]
            left = ~done
            index, k, x, p, q = index[left], k[left], x[left], p[left], q[left]
            if not index.size:
                break
        p, q = q, step(j, x, p, q)
        j += 1
    return out


# Chebyshev degrees above this at |y| >= 1 come from the closed forms in cosh and sinh, not PyTorch's recurrence: next
# to y = +-1 that loops up to ~1e10 times before it overflows to NaN, and one step of arrays here costs about 10 us.
# Below it the values are PyTorch's (its float32 recurrence there drifts from the exact value, which the closed forms
# give: by 30% at degree 1e5 next to 1); where the value overflows both are NaN (PyTorch's is +-inf for the first two
# degrees past it)
_CHEBYSHEV_LOOP_MAX = 1 << 16


def _chebyshev_outside(xp, kind, y, k):
    """T, U, V or W of degree k at |y| >= 1 in closed form: cosh and sinh of k acosh|y|, in float64; NaN where that
    overflows y's dtype, as the recurrence turns NaN where it does."""
    t, kf = xp.arccosh(xp.abs(y).astype(numpy.float64)), k.astype(numpy.float64)
    if kind == "t":
        value = xp.cosh(kf * t)
    elif kind == "u":
        value = xp.where(t == 0, kf + 1, xp.sinh((kf + 1) * t) / xp.sinh(t))
    else:  # V at y >= 1 and W at y <= -1 are cosh((k + 1/2) t) / cosh(t / 2), the other two the sinh ratio
        cosh_ratio = xp.cosh((kf + 0.5) * t) / xp.cosh(t / 2)
        sinh_ratio = xp.where(t == 0, 2 * kf + 1, xp.sinh((kf + 0.5) * t) / xp.sinh(t / 2))
        value = xp.where((y > 0) == (kind == "v"), cosh_ratio, sinh_ratio)
    out = xp.where((y < 0) & (k % 2 == 1), -value, value).astype(y.dtype)
    return xp.where(xp.isfinite(out), out, numpy.nan)


def _chebyshev(kind, shifted):
    """The Chebyshev polynomial of the first to fourth kind T, U, V or W of degree n at y = x (or, shifted, at
    y = 2x - 1), as PyTorch's ``chebyshev_polynomial_t_forward`` and the others: 0 for a negative degree; the closed
    values at y = +-1 (for the shifted ones at x = 1 and 0 exactly); inside (-1, 1) above degree 6 or 8 (4 or 6 for the
    shifted ones) the trigonometric closed forms; else the recurrence r = 2y q - p (see _CHEBYSHEV_LOOP_MAX)."""
    trig_from = {"t": 6, "u": 8, "v": 8, "w": 8}[kind] if not shifted else (4 if kind == "w" else 6)

    def function(xp, x, n):
        x, k = _polynomial_operands(xp, x, n)
        dtype = x.dtype
        y = x + x - 1.0 if shifted else x
        one, minus_one = (x == 1, x == 0) if shifted else (x == 1, x == -1)
        even = k % 2 == 0
        kf, k1, k2 = k.astype(dtype), (k + 1).astype(dtype), (k + k + 1).astype(dtype)
        theta = xp.arccos(y)
        if kind == "t":
            at_one, at_minus_one = 1, xp.where(even, 1, -1)
            trig = xp.cos(kf * theta)
            first = y
        elif kind == "u":
            at_one, at_minus_one = k1, xp.where(even, k1, -k1)
            s = xp.sin(theta)
            trig = xp.where(s != 0, xp.sin(k1 * theta) / s, k1 * xp.cos(k1 * theta) / y)
            first = y + y
        elif kind == "v":
            at_one, at_minus_one = 1, xp.where(even, k2, -k2)
            trig = xp.where(xp.sin(theta / 2.0) != 1, xp.cos((kf + 0.5) * theta) / xp.cos(theta / 2.0), at_minus_one)
            first = y + y - 1.0
        else:  # (where cos(theta / 2) rounds to 1, next to y = 1, PyTorch's W gives 2n + 1 and its shifted W +-1)
            at_one, at_minus_one = k2, xp.where(even, 1, -1)
            trig = xp.where(xp.cos(theta / 2.0) != 1, xp.sin((kf + 0.5) * theta) / xp.sin(theta / 2.0),
                            at_minus_one if shifted else xp.where(x > 0, k2, at_minus_one))
            first = y + y + 1.0
        edge = one | minus_one
        inside = ~edge & (k > trig_from) & (xp.abs(y) < 1)
        outside = ~edge & (k > _CHEBYSHEV_LOOP_MAX) & (xp.abs(y) >= 1)
        out = _recurrence(xp, xp.zeros(x.shape, dtype), ~edge & ~inside & ~outside & (k >= 2), k, y, 1.0, first,
                          lambda j, y, p, q: _fma(y + y, q, -p))
        if bool(outside.any()):
            out = xp.where(outside, _chebyshev_outside(xp, kind, y, k), out)
        out = xp.where(k == 1, first, xp.where(k == 0, 1, out))
        out = xp.where(one, at_one, xp.where(minus_one, at_minus_one, xp.where(inside, trig, out)))
        return xp.where(k < 0, 0, out).astype(dtype, copy=False)

    function.__name__ = f"{'shifted_' if shifted else ''}chebyshev_polynomial_{kind}"
    return function


chebyshev_polynomial_t, chebyshev_polynomial_u = _chebyshev("t", False), _chebyshev("u", False)
chebyshev_polynomial_v, chebyshev_polynomial_w = _chebyshev("v", False), _chebyshev("w", False)
shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u = _chebyshev("t", True), _chebyshev("u", True)
shifted_chebyshev_polynomial_v, shifted_chebyshev_polynomial_w = _chebyshev("v", True), _chebyshev("w", True)


def _hermite(physicists):
    """The physicists' Hermite polynomial H (or the probabilists' He) of degree n as PyTorch's
    ``hermite_polynomial_h_forward`` (``_he_``): 0 for a negative degree, NaN above degree 128 in float32 and 512 in
    float64, else the recurrence H_(k+1) = 2x H_k - 2k H_(k-1) (He_(k+1) = x He_k - k He_(k-1))."""

    def function(xp, x, n):
        x, k = _polynomial_operands(xp, x, n)
        first = x + x if physicists else x
        limit = 128 if x.dtype == numpy.float32 else 512
        if physicists:
            step = lambda j, x, p, q: _fma(x + x, q, -((2 * j) * p))  # noqa: E731
        else:
            step = lambda j, x, p, q: _fma(x, q, -(j * p))  # noqa: E731
        out = _recurrence(xp, xp.zeros(x.shape, x.dtype), (k >= 2) & (k <= limit), k, x, 1.0, first, step)
        out = xp.where(k == 0, 1, xp.where(k == 1, first, xp.where(k > limit, numpy.nan, out)))
        return xp.where(k < 0, 0, out).astype(x.dtype, copy=False)

    function.__name__ = f"hermite_polynomial_{'h' if physicists else 'he'}"
    return function


hermite_polynomial_h, hermite_polynomial_he = _hermite(True), _hermite(False)


def laguerre_polynomial_l(xp, x, n):
    """The Laguerre polynomial of degree n as PyTorch's ``laguerre_polynomial_l_forward``: 0 for a negative degree, 1 at
    x = 0, else the recurrence L_(k+1) = ((2k + 1 - x) L_k - k L_(k-1)) / (k + 1) (its cost grows with n: no closed
    form bounds it)."""
    x, k = _polynomial_operands(xp, x, n)
    first = 1.0 - x
    out = _recurrence(xp, xp.zeros(x.shape, x.dtype), (x != 0) & (k >= 2), k, x, 1.0, first,
                      lambda j, x, p, q: _fma((j + j) + (1.0 - x), q, -(j * p)) / (j + 1))
    out = xp.where((k == 0) | (x == 0), 1, xp.where(k == 1, first, out))
    return xp.where(k < 0, 0, out).astype(x.dtype, copy=False)


def legendre_polynomial_p(xp, x, n):
    """The Legendre polynomial of degree n as PyTorch's ``legendre_polynomial_p_forward``: 0 for a negative degree, +-1
    at x = +-1, else Bonnet's recurrence P_(k+1) = ((2k + 1) x P_k - k P_(k-1)) / (k + 1) (its cost grows with n)."""
    x, k = _polynomial_operands(xp, x, n)
    unit = xp.abs(x) == 1
    out = _recurrence(xp, xp.zeros(x.shape, x.dtype), ~unit & (k >= 2), k, x, 1.0, x,
                      lambda j, x, p, q: _fma((j + j + 1) * x, q, -(j * p)) / (j + 1))
    out = xp.where(unit, xp.where((x > 0) | (k % 2 == 0), 1, -1), xp.where(k == 0, 1, xp.where(k == 1, x, out)))
    return xp.where(k < 0, 0, out).astype(x.dtype, copy=False)
