"""The firm's staff: a unique name, a role and cost and bill rates for every person."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clientlens.demo.random_streams import STREAM_PEOPLE, rng_for

ROLES = ("developer", "designer", "qa_engineer", "support_engineer", "project_manager",
         "account_manager", "architect")
ROLE_SHARE = (0.50, 0.12, 0.08, 0.10, 0.08, 0.07, 0.05)
ROLE_DISPLAY = np.array(["Developer", "Designer", "QA Engineer", "Support Engineer",
                         "Project Manager", "Account Manager", "Architect"])
ROLE_COST = np.array([55.0, 50.0, 40.0, 38.0, 60.0, 58.0, 75.0])  # USD per hour
ROLE_BILL = np.array([105.0, 95.0, 75.0, 70.0, 110.0, 100.0, 140.0])
DEV, DESIGN, QA, SUPPORT_ENG, PM, AM, ARCH = range(7)
COMM = 7  # pseudo-role: the client's communicator of the quarter


FIRST_NAMES = (
    "Anna", "Boris", "Clara", "Daniel", "Elena", "Felix", "Greta", "Hugo", "Irina", "Jonas",
    "Katya", "Leon", "Maria", "Nikolai", "Olga", "Pavel", "Quinn", "Rosa", "Sergey", "Tanya",
    "Ulrich", "Vera", "Walter", "Xenia", "Yuri", "Zoe", "Adrian", "Bianca", "Carlos", "Dina",
    "Emil", "Fiona", "Georg", "Hanna", "Ivan", "Julia", "Kirill", "Lena", "Marco", "Nina",
    "Oscar", "Polina", "Roman", "Sofia", "Timur", "Ursula", "Viktor", "Wanda", "Yana", "Zakhar",
    "Alina", "Bruno", "Celia", "Denis", "Eva", "Filip", "Gleb", "Helga", "Igor", "Jana",
)
LAST_NAMES = (
    "Ivanova", "Smith", "Petrov", "Novak", "Keller", "Orlov", "Berg", "Costa", "Dubois", "Evans",
    "Fischer", "Garcia", "Hansen", "Ilyin", "Jensen", "Kuznetsov", "Lang", "Moreau", "Nagy",
    "Olsen", "Popescu", "Quist", "Romanov", "Schulz", "Tarasov", "Urban", "Volkov", "Weber",
    "Young", "Zaitsev", "Abbott", "Baker", "Carter", "Dalton", "Engel", "Frolov", "Gromov",
    "Holm", "Isaev", "Jung", "Klein", "Lebedev", "Maier", "Nilsson", "Ortiz", "Pavlov", "Reyes",
    "Sokolov", "Thomsen", "Ueda", "Vasquez", "Wolf", "Yakovlev", "Zimmer", "Arnold", "Bauer",
    "Chen", "Dietrich", "Egorov", "Fedorov",
)


@dataclass(frozen=True)
class People:
    first: np.ndarray
    last: np.ndarray
    name: np.ndarray
    role: np.ndarray  # index into ROLES
    cost_rate: np.ndarray
    bill_rate: np.ndarray
    employee: np.ndarray  # False: a contractor
    by_role: tuple[np.ndarray, ...]


def person_name(j: int) -> tuple[str, str]:
    """A unique (first, last) for person j; past 3,600 people a middle initial keeps them apart."""
    combos = len(FIRST_NAMES) * len(LAST_NAMES)
    jj = (j * 7919) % combos  # 7919 is prime and does not divide `combos`: a bijection
    first, last = FIRST_NAMES[jj % len(FIRST_NAMES)], LAST_NAMES[jj // len(FIRST_NAMES)]
    initial = j // combos
    if initial > 26:
        raise ValueError("the demo names at most 97,200 people")
    return first, (f"{chr(64 + initial)}. {last}" if initial else last)


def make_people(clients: int, seed: int) -> People:
    """The firm's staff: about 1.4 people per client, every role staffed."""
    rng = rng_for(seed, STREAM_PEOPLE)
    n = max(60, int(round(1.4 * clients)))
    counts = np.maximum(3, np.floor(np.array(ROLE_SHARE) * n).astype(int))
    role = rng.permutation(np.repeat(np.arange(len(ROLES)), counts))
    n = len(role)
    names = [person_name(j) for j in range(n)]
    first = np.array([f for f, _ in names])
    last = np.array([s for _, s in names])
    cost = np.round(ROLE_COST[role] * rng.uniform(0.85, 1.15, n))
    bill = np.round(ROLE_BILL[role] * rng.uniform(0.9, 1.1, n) / 5) * 5
    employee = rng.random(n) > 0.1
    by_role = tuple(np.flatnonzero(role == r) for r in range(len(ROLES)))
    return People(first, last, np.char.add(np.char.add(first, " "), last), role, cost, bill,
                  employee, by_role)
