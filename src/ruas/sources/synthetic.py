"""A SYNTHETIC vehicle register for tests, demos and benchmarks: invented vehicles, never real ones.

:func:`generate_register` draws a reproducible register in the canonical vehicle table
schema (:data:`ruas.register.vehicle_table.VEHICLE_SCHEMA`) with ``synthetic=True`` on
every row. It is vectorised with numpy (100,000 vehicles in a fraction of a second).

Nothing here describes a real vehicle:

* every plate contains the letter **Q**, which Dutch plates never use, so a synthetic
  plate can never be (or be mistaken for) a real one; plates follow the shapes of the
  Dutch side codes (``"VQ-123-B"`` -> ``"VQ123B"``, ``"12-QBB-3"`` -> ``"12QBB3"``) and
  are unique within a register;
* the mix of kinds and emission classes is a *target distribution*: the van emission
  classes follow CBS (1 January 2024, see :data:`VAN_CLASS_SHARES_CBS_2024`); every
  other share is an illustrative assumption, documented next to its constant.

Attributes are internally consistent: a zero-emission (Z) vehicle has only electric or
hydrogen fuels, a plug-in hybrid (petrol + electric) has class 6 and is not Z, the date
of first admission (DET) lies in the period of its emission class, vans have a TMM of
at most 3,500 kg. Units: kilograms and metres.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from ruas.register.vehicle_table import VEHICLE_SCHEMA, validate_frame

# --------------------------------------------------------------------------- target shares

KINDS: tuple[str, ...] = ("van", "rigid", "tractor", "car", "bus", "motorcycle")
"""Kinds of vehicle generated; each maps onto one :class:`~ruas.domain.vehicle.Body`."""

KIND_SHARES: dict[str, float] = {
    "van": 0.55,  # bestelauto, N1, TMM 2,000-3,500 kg
    "rigid": 0.10,  # bakwagen, N2 (TMM <= 12,000 kg) or N3, TMM 7,500-26,000 kg
    "tractor": 0.05,  # opleggertrekker, N3, TMM of the tractor itself 18,000-20,000 kg
    "car": 0.28,  # personenauto, M1
    "bus": 0.015,  # M2/M3
    "motorcycle": 0.005,  # L
}
"""Share of each kind in the register: a goods-vehicle-heavy mix as seen at zone entrances.

Illustrative assumption chosen for the RUAS use case (vans and trucks are what the
zero-emission zones regulate), not a statistic of the Dutch fleet.
"""

CLASSES: tuple[str, ...] = ("0", "1", "2", "3", "4", "5", "6", "Z")
"""Emission class values in index order (``Z`` last)."""

VAN_CLASS_SHARES_CBS_2024: dict[str, float] = {
    "0": 2,
    "1": 0,
    "2": 1,
    "3": 5,
    "4": 15,
    "5": 26,
    "6 or Z": 52,
}
"""Vans (bestelauto's) on 1 January 2024 by emission class, in percent (they add up to 101 by rounding).

Source: CBS, "Bijna kwart bestelauto's mag mogelijk zero-emissiezone niet in", 26 April 2024,
table "Bestelauto's op 1 januari naar emissieklasse"
(https://www.cbs.nl/nl-nl/nieuws/2024/17/bijna-kwart-bestelauto-s-mag-mogelijk-zero-emissiezone-niet-in).
So class 0-4 is about 23 %, class 5 about 26 % and class 6 or Z about 52 %.
"""

VAN_ZERO_EMISSION_PERCENT = 4.0
"""Part of the CBS "6 or Z" van bucket that is zero emission (electric), in percent of all vans.

Assumption ("a few per cent"); CBS reports 6 and Z together.
"""

CLASS_WEIGHTS: dict[str, tuple[float, ...]] = {
    "van": (
        VAN_CLASS_SHARES_CBS_2024["0"],
        VAN_CLASS_SHARES_CBS_2024["1"],
        VAN_CLASS_SHARES_CBS_2024["2"],
        VAN_CLASS_SHARES_CBS_2024["3"],
        VAN_CLASS_SHARES_CBS_2024["4"],
        VAN_CLASS_SHARES_CBS_2024["5"],
        VAN_CLASS_SHARES_CBS_2024["6 or Z"] - VAN_ZERO_EMISSION_PERCENT,
        VAN_ZERO_EMISSION_PERCENT,
    ),
    # The rows below are illustrative assumptions, not statistics.
    "rigid": (1, 0.5, 1.5, 5, 6, 18, 64, 4),
    "tractor": (0.5, 0, 0.5, 2, 3, 10, 81, 3),
    "car": (2, 1, 2, 6, 14, 20, 45, 10),
    "bus": (0, 0, 0, 2, 5, 15, 48, 30),
    "motorcycle": (20, 5, 10, 25, 25, 15, 0, 0),
}
"""Relative weights of the classes 0, 1, ..., 6, Z per kind (normalised when drawing)."""

LATEST_ADMISSION = date(2026, 6, 30)
"""The register is imagined as a snapshot of mid-2026: no DET is later than this day."""

_LIGHT_DET: dict[str, tuple[tuple[float, date, date], ...]] = {
    # class: ((probability, first DET, last DET), ...) for cars, vans and motorcycles
    "0": ((0.25, date(1965, 1, 1), date(1985, 12, 31)), (0.75, date(1986, 1, 1), date(1992, 6, 30))),
    "1": ((1.0, date(1992, 7, 1), date(1996, 12, 31)),),
    "2": ((1.0, date(1997, 1, 1), date(2000, 12, 31)),),
    "3": ((1.0, date(2001, 1, 1), date(2005, 12, 31)),),
    "4": ((1.0, date(2006, 1, 1), date(2010, 8, 31)),),
    "5": ((1.0, date(2009, 9, 1), date(2015, 8, 31)),),
    "6": ((0.95, date(2015, 9, 1), date(2024, 12, 31)), (0.05, date(2025, 1, 1), LATEST_ADMISSION)),
    "Z": ((0.15, date(2012, 1, 1), date(2018, 12, 31)), (0.85, date(2019, 1, 1), LATEST_ADMISSION)),
}
"""DET periods per class for light vehicles (after RDW's DET -> class table for vans)."""

_HEAVY_DET: dict[str, tuple[tuple[float, date, date], ...]] = {
    # class: ((probability, first DET, last DET), ...) for trucks, tractors and buses
    "0": ((0.25, date(1965, 1, 1), date(1985, 12, 31)), (0.75, date(1986, 1, 1), date(1992, 9, 30))),
    "1": ((1.0, date(1992, 10, 1), date(1996, 9, 30)),),
    "2": ((1.0, date(1996, 10, 1), date(2001, 9, 30)),),
    "3": ((1.0, date(2001, 10, 1), date(2006, 9, 30)),),
    "4": ((1.0, date(2006, 10, 1), date(2009, 9, 30)),),
    "5": ((1.0, date(2009, 10, 1), date(2013, 12, 31)),),
    "6": ((0.95, date(2013, 1, 1), date(2024, 12, 31)), (0.05, date(2025, 1, 1), LATEST_ADMISSION)),
    "Z": ((0.15, date(2014, 1, 1), date(2018, 12, 31)), (0.85, date(2019, 1, 1), LATEST_ADMISSION)),
}
"""DET periods per class for heavy vehicles (Euro I-VI dates for heavy engines)."""

FUEL_COMBOS: tuple[tuple[str, ...], ...] = (
    ("diesel",),
    ("petrol",),
    ("lpg",),
    ("cng",),
    ("lng",),
    ("electric",),
    ("hydrogen",),
    ("electric", "petrol"),  # plug-in hybrid: never Z
)
"""The fuel lists drawn (sorted, as in the table)."""

_COMBUSTION_FUEL_WEIGHTS: dict[str, tuple[float, ...]] = {
    # weights over FUEL_COMBOS[:5] (diesel, petrol, lpg, cng, lng) for non-Z vehicles; assumptions
    "van": (90, 6, 3, 1, 0),
    "rigid": (97, 0, 0, 1.5, 1.5),
    "tractor": (97, 0, 0, 1, 2),
    "car": (22, 72, 5, 1, 0),
    "bus": (92, 0, 0, 8, 0),
    "motorcycle": (0, 100, 0, 0, 0),
}
PLUG_IN_HYBRID_SHARE: dict[str, float] = {"van": 0.02, "car": 0.08}
"""Share of class-6 vans/cars first admitted from 2016 that are plug-in hybrids (assumption)."""
HYDROGEN_SHARE_OF_ZE_TRUCKS = 0.10
"""Share of zero-emission rigid trucks and tractors running on hydrogen (assumption)."""

WHEELCHAIR_VAN_SHARE = 0.006
"""Vans that are wheelchair accessible: half special purpose SH, half a special code (assumption)."""
WHEELCHAIR_CODES: tuple[str, ...] = ("145", "146", "147", "149")
SPECIAL_TRUCK_SHARE = 0.04
"""Rigid trucks with an exempting body code or special purpose SB/SF (assumption)."""
SPECIAL_BODY_CODES: tuple[str, ...] = ("15", "16", "19", "23", "26", "27", "31")
TAXI_SHARE = 0.025
"""Cars used as taxi (assumption)."""
CAMPER_SHARE = 0.005
"""Cars that are motor caravans, special purpose SA, body ``special`` (assumption)."""
WHEELCHAIR_CAR_SHARE = 0.003
"""Cars that are wheelchair accessible, special purpose SH, body ``special`` (assumption)."""

# --------------------------------------------------------------------------- plates

PLATE_SHAPES: tuple[str, ...] = (
    "LLDDDD",  # side code 1  XX-99-99
    "DDDDLL",  # 2  99-99-XX
    "DDLLDD",  # 3  99-XX-99
    "LLDDLL",  # 4  XX-99-XX
    "LLLLDD",  # 5  XX-XX-99
    "DDLLLL",  # 6  99-XX-XX
    "DDLLLD",  # 7  99-XXX-9
    "DLLLDD",  # 8  9-XXX-99
    "LLDDDL",  # 9  XX-999-X
    "LDDDLL",  # 10 X-999-XX
    "LLLDDL",  # 11 XXX-99-X
    "LDDLLL",  # 12 X-99-XXX
    "DLLDDD",  # 13 9-XX-999
    "DDDLLD",  # 14 999-XX-9
)
"""Dutch side codes, normalised (L = letter, D = digit)."""

_GOODS_SHAPES = (3, 8, 9)
"""Side codes 4, 9 and 10: used for goods vehicles, whose plates start with V (van) or B (truck)."""

_LETTERS = np.frombuffer(b"BDFGHJKLNPRSTVXZ", dtype=np.uint8)
"""Letters Dutch plates use (no vowels, no C, M, Q, W, Y); Q is added on purpose, once per plate."""
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_Q = ord("Q")

# --------------------------------------------------------------------------- generation

_EPOCH = date(1970, 1, 1)


def _days(day: date) -> int:
    return (day - _EPOCH).days


def _uniform_round(
    rng: np.random.Generator, low: float, high: float, size: int, decimals: int = 2
) -> npt.NDArray[np.float64]:
    return np.round(rng.uniform(low, high, size), decimals)


def _steps(rng: np.random.Generator, low: int, high: int, step: int, size: int) -> npt.NDArray[np.int64]:
    """Whole numbers from ``low`` to ``high`` inclusive in multiples of ``step``."""
    return rng.integers(low // step, high // step + 1, size) * step


def _plates(rng: np.random.Generator, kind: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Plates as ASCII codes, shape (n, 6), with exactly one Q, in Dutch side-code shapes; maybe not unique."""
    n = kind.size
    goods = (kind == KINDS.index("van")) | (kind == KINDS.index("rigid")) | (kind == KINDS.index("tractor"))
    shape = rng.integers(0, len(PLATE_SHAPES), n)
    shape[goods] = np.asarray(_GOODS_SHAPES)[rng.integers(0, len(_GOODS_SHAPES), int(goods.sum()))]
    prefix = np.zeros(n, dtype=np.uint8)
    prefix[kind == KINDS.index("van")] = ord("V")
    prefix[(kind == KINDS.index("rigid")) | (kind == KINDS.index("tractor"))] = ord("B")
    letters = _LETTERS[rng.integers(0, _LETTERS.size, (n, 6))]
    digits = _DIGITS[rng.integers(0, _DIGITS.size, (n, 6))]
    chars = np.empty((n, 6), dtype=np.uint8)
    pick = rng.random(n)
    for s, pattern in enumerate(PLATE_SHAPES):
        is_letter = np.array([c == "L" for c in pattern])
        rows = np.flatnonzero(shape == s)
        chars[rows] = np.where(is_letter, letters[rows], digits[rows])
        positions = np.flatnonzero(is_letter)
        forced = rows[(prefix[rows] != 0) & is_letter[0]]
        free = np.setdiff1d(rows, forced, assume_unique=True)
        for subset, candidates in ((free, positions), (forced, positions[positions != 0])):
            q_at = candidates[(pick[subset] * candidates.size).astype(np.int64)]
            chars[subset, q_at] = _Q
        chars[forced, 0] = prefix[forced]
    leading_zero = chars[:, 0] == ord("0")
    chars[leading_zero, 0] = _DIGITS[1:][rng.integers(0, 9, int(leading_zero.sum()))]
    return chars


def _unique_plates(rng: np.random.Generator, kind: npt.NDArray[np.int64]) -> pl.Series:
    """Draw plates and redraw the later duplicates until every plate is unique; a Utf8 series."""
    chars = _plates(rng, kind)
    weights = 256 ** np.arange(6, dtype=np.int64)
    while True:
        _, first = np.unique(chars.astype(np.int64) @ weights, return_index=True)
        duplicate = np.ones(kind.size, dtype=bool)
        duplicate[first] = False
        if not duplicate.any():
            break
        rows = np.flatnonzero(duplicate)
        chars[rows] = _plates(rng, kind[rows])
    return pl.Series("plate", np.ascontiguousarray(chars).view("S6").ravel()).cast(pl.Utf8)


def _first_admission(
    rng: np.random.Generator, kind: npt.NDArray[np.int64], cls: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """DET as days since 1970-01-01, within the period of each vehicle's emission class."""
    heavy = np.isin(kind, [KINDS.index("rigid"), KINDS.index("tractor"), KINDS.index("bus")])
    days = np.zeros(kind.size, dtype=np.int64)
    pick = rng.random(kind.size)
    offset = rng.random(kind.size)
    for table, group in ((_LIGHT_DET, ~heavy), (_HEAVY_DET, heavy)):
        for c, label in enumerate(CLASSES):
            rows = group & (cls == c)
            low = 0.0
            for probability, first, last in table[label]:
                sub = rows & (pick >= low) & (pick < low + probability)
                span = _days(last) - _days(first) + 1
                days[sub] = _days(first) + (offset[sub] * span).astype(np.int64)
                low += probability
            days[rows & (pick >= low)] = _days(table[label][-1][2])  # probabilities summing to a hair under 1
    return days


def _gather_lists(options: tuple[tuple[str, ...], ...], index: npt.NDArray[np.int64], name: str) -> pl.Series:
    """A List(Utf8) column whose row i is ``options[index[i]]`` (vectorised)."""
    lookup = pl.Series(name, [list(o) for o in options], dtype=pl.List(pl.Utf8))
    return lookup.gather(index)


def generate_register(n: int = 100_000, seed: int = 20250101) -> pl.DataFrame:
    """A SYNTHETIC register of ``n`` vehicles in the canonical table schema, reproducible for ``seed``.

    The same ``(n, seed)`` always gives an identical frame. See the module constants for
    the target shares and their sources. Masses in kg, sizes in metres.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    shares = np.array([KIND_SHARES[k] for k in KINDS])
    kind = rng.choice(len(KINDS), size=n, p=shares / shares.sum()).astype(np.int64)
    k = {name: kind == i for i, name in enumerate(KINDS)}

    cls = np.zeros(n, dtype=np.int64)
    for name in KINDS:
        weights = np.array(CLASS_WEIGHTS[name], dtype=float)
        cls[k[name]] = rng.choice(len(CLASSES), size=int(k[name].sum()), p=weights / weights.sum())
    zero = cls == CLASSES.index("Z")
    det_days = _first_admission(rng, kind, cls)

    # ---- masses (kg) and category
    mass = np.zeros(n, dtype=np.int64)
    van_mass = _steps(rng, 2000, 3490, 10, n)
    mass[k["van"]] = np.where(rng.random(n) < 0.4, 3500, van_mass)[k["van"]]
    mass[k["rigid"]] = _steps(rng, 7500, 26000, 100, n)[k["rigid"]]
    mass[k["tractor"]] = _steps(rng, 18000, 20000, 100, n)[k["tractor"]]
    mass[k["car"]] = _steps(rng, 1300, 2600, 10, n)[k["car"]]
    minibus = k["bus"] & (rng.random(n) < 0.1)
    mass[k["bus"]] = _steps(rng, 18000, 19500, 100, n)[k["bus"]]
    mass[minibus] = _steps(rng, 4000, 5000, 100, n)[minibus]
    mass[k["motorcycle"]] = _steps(rng, 300, 550, 10, n)[k["motorcycle"]]

    categories = ("M1", "M2", "M3", "N1", "N2", "N3", "L")
    category = np.zeros(n, dtype=np.int64)
    category[k["van"]] = categories.index("N1")
    category[k["rigid"] & (mass <= 12_000)] = categories.index("N2")
    category[(k["rigid"] & (mass > 12_000)) | k["tractor"]] = categories.index("N3")
    category[k["bus"]] = categories.index("M3")
    category[minibus] = categories.index("M2")
    category[k["motorcycle"]] = categories.index("L")

    # ---- fuels: combustion draw, then Z, plug-in hybrids and hydrogen
    fuel = np.zeros(n, dtype=np.int64)
    for name in KINDS:
        weights = np.array(_COMBUSTION_FUEL_WEIGHTS[name], dtype=float)
        fuel[k[name]] = rng.choice(weights.size, size=int(k[name].sum()), p=weights / weights.sum())
    fuel[zero] = FUEL_COMBOS.index(("electric",))
    truck = k["rigid"] | k["tractor"]
    fuel[zero & truck & (rng.random(n) < HYDROGEN_SHARE_OF_ZE_TRUCKS)] = FUEL_COMBOS.index(("hydrogen",))
    recent_six = (cls == CLASSES.index("6")) & (det_days >= _days(date(2016, 1, 1)))
    phev_draw = rng.random(n)
    for name, share in PLUG_IN_HYBRID_SHARE.items():
        fuel[k[name] & recent_six & (phev_draw < share)] = FUEL_COMBOS.index(("electric", "petrol"))
    old_lng = (fuel == FUEL_COMBOS.index(("lng",))) & (cls < CLASSES.index("5"))
    fuel[old_lng] = FUEL_COMBOS.index(("diesel",))  # LNG trucks are recent: class 5 or 6 only

    # ---- dimensions (m) and axle load (kg)
    length = np.zeros(n)
    width = np.zeros(n)
    height = np.zeros(n)
    dims = {
        "van": ((4.5, 7.0), (1.8, 2.1), (1.8, 2.9)),
        "rigid": ((7.0, 12.0), (2.5, 2.55), (3.0, 4.0)),
        "tractor": ((5.8, 6.3), (2.5, 2.55), (3.6, 4.0)),
        "car": ((3.6, 5.0), (1.6, 1.95), (1.4, 1.8)),
        "bus": ((10.5, 13.5), (2.55, 2.55), (3.0, 3.4)),
        "motorcycle": ((2.0, 2.4), (0.75, 1.0), (1.1, 1.5)),
    }
    for name, ((l0, l1), (w0, w1), (h0, h1)) in dims.items():
        rows = k[name]
        size = int(rows.sum())
        length[rows] = _uniform_round(rng, l0, l1, size)
        width[rows] = _uniform_round(rng, w0, w1, size)
        height[rows] = _uniform_round(rng, h0, h1, size)
    length[minibus] = _uniform_round(rng, 6.0, 8.0, int(minibus.sum()))
    height[minibus] = _uniform_round(rng, 2.5, 2.9, int(minibus.sum()))
    no_height = (k["van"] | k["car"]) & (rng.random(n) < 0.01)  # RDW often lacks the height
    axle = np.zeros(n, dtype=np.int64)
    axle[k["van"]] = _steps(rng, 1500, 2000, 10, n)[k["van"]]
    heavy = truck | k["bus"]
    axle[heavy] = _steps(rng, 7100, 11500, 10, n)[heavy]
    no_axle = k["car"] | k["motorcycle"]

    # ---- special purpose, body codes, special codes, usage
    # special_purpose options: 0 none, 1 SA, 2 SB, 3 SF, 4 SH
    sp_options: tuple[tuple[str, ...], ...] = ((), ("SA",), ("SB",), ("SF",), ("SH",))
    bc_options: tuple[tuple[str, ...], ...] = ((), *((c,) for c in SPECIAL_BODY_CODES))
    sc_options: tuple[tuple[str, ...], ...] = ((), *((c,) for c in WHEELCHAIR_CODES))
    special_purpose = np.zeros(n, dtype=np.int64)
    body_code = np.zeros(n, dtype=np.int64)
    special_code = np.zeros(n, dtype=np.int64)
    draw = rng.random(n)
    half = rng.random(n) < 0.5
    choice_sc = rng.integers(1, len(sc_options), n)
    choice_bc = rng.integers(1, len(bc_options), n)
    choice_sbf = rng.integers(2, 4, n)
    wheelchair_van = k["van"] & (draw < WHEELCHAIR_VAN_SHARE)
    special_purpose[wheelchair_van & half] = 4
    special_code[wheelchair_van & ~half] = choice_sc[wheelchair_van & ~half]
    special_truck = k["rigid"] & (draw < SPECIAL_TRUCK_SHARE)
    by_code = special_truck & (rng.random(n) < 0.7)
    body_code[by_code] = choice_bc[by_code]
    special_purpose[special_truck & ~by_code] = choice_sbf[special_truck & ~by_code]
    camper = k["car"] & (draw < CAMPER_SHARE)
    wheelchair_car = k["car"] & (draw >= CAMPER_SHARE) & (draw < CAMPER_SHARE + WHEELCHAIR_CAR_SHARE)
    special_purpose[camper] = 1
    special_purpose[wheelchair_car] = 4
    taxi = k["car"] & ~camper & ~wheelchair_car & (rng.random(n) < TAXI_SHARE)

    bodies = (*KINDS, "special")  # kind names are Body values
    body = kind.copy()
    body[camper | wheelchair_car] = bodies.index("special")

    plates = _unique_plates(rng, kind)

    frame = pl.DataFrame(
        {
            "plate": plates,
            "category": pl.Series(categories, dtype=pl.Utf8).gather(category),
            "body": pl.Series(bodies, dtype=pl.Utf8).gather(body),
            "fuels": _gather_lists(FUEL_COMBOS, fuel, "fuels"),
            "emission_class": pl.Series(CLASSES, dtype=pl.Utf8).gather(cls),
            "first_admission": pl.Series(det_days.astype("datetime64[D]")).cast(pl.Date),
            "max_mass_kg": pl.Series(mass, dtype=pl.Int32),
            "length_m": pl.Series(length, dtype=pl.Float64),
            "width_m": pl.Series(width, dtype=pl.Float64),
            "height_m": pl.Series(height, dtype=pl.Float64),
            "axle_load_kg": pl.Series(axle, dtype=pl.Int32),
            "body_codes": _gather_lists(bc_options, body_code, "body_codes"),
            "special_purpose": _gather_lists(sp_options, special_purpose, "special_purpose"),
            "special_codes": _gather_lists(sc_options, special_code, "special_codes"),
            "usage": _gather_lists(((), ("taxi",)), taxi.astype(np.int64), "usage"),
            "holder": _gather_lists(((),), np.zeros(n, dtype=np.int64), "holder"),
            "synthetic": pl.Series(np.ones(n, dtype=bool), dtype=pl.Boolean),
        },
        schema=VEHICLE_SCHEMA,
    ).with_columns(
        pl.when(pl.Series(no_height)).then(None).otherwise(pl.col("height_m")).alias("height_m"),
        pl.when(pl.Series(no_axle)).then(None).otherwise(pl.col("axle_load_kg")).alias("axle_load_kg"),
    )
    return validate_frame(frame)
