"""Word lists for generating the demo organisation's people, sites and departments.

Written for this project; a mix of names from many places, as in any larger organisation.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Aisha", "Alex", "Amara", "Ana", "Anders", "Ángel", "Anna", "Arjun", "Astrid", "Ben",
    "Bianca", "Carlos", "Chen", "Chloé", "Dana", "Daniel", "David", "Elena", "Elif", "Emma",
    "Erik", "Fatima", "Felix", "Fiona", "Gabriel", "Grace", "Hana", "Hannah", "Hugo", "Ines",
    "Isaac", "Jakob", "James", "Jana", "Joana", "Jonas", "Julia", "Kai", "Karin", "Kofi",
    "Lars", "Laura", "Lea", "Leon", "Lina", "Lucas", "Maja", "Malik", "Marta", "Mateo",
    "Mei", "Mia", "Mohammed", "Nadia", "Niamh", "Nina", "Noah", "Nora", "Oliver", "Omar",
    "Paula", "Pedro", "Priya", "Rafael", "Rania", "Rosa", "Sam", "Sara", "Sofia", "Tariq",
    "Theo", "Tomás", "Uma", "Valentina", "Viktor", "Wei", "Yara", "Yusuf", "Zara", "Zoe",
)  # fmt: skip

LAST_NAMES = (
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Bergström", "Bianchi", "Brennan",
    "Castillo", "Chen", "Costa", "Dubois", "Eriksen", "Fischer", "Fontaine", "García",
    "Gupta", "Haddad", "Hansen", "Hoffmann", "Horvat", "Ivanova", "Jansen", "Kaya", "Keller",
    "Kim", "Kowalski", "Larsen", "Lehmann", "Lindqvist", "López", "Mahmoud", "Martin",
    "Meyer", "Moreau", "Murphy", "Nakamura", "Novak", "Nowak", "O'Brien", "Okafor", "Olsen",
    "Park", "Patel", "Pereira", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt", "Schneider",
    "Silva", "Singh", "Sørensen", "Suzuki", "Tanaka", "Torres", "Van Dijk", "Vogel", "Wagner",
    "Walsh", "Weber", "Wójcik", "Yilmaz", "Zimmermann",
)  # fmt: skip

# (site, time zone, share of the workforce)
SITES = (
    ("Building A", "Europe/Berlin", 0.40),
    ("Building B", "Europe/Berlin", 0.25),
    ("Building C", "Europe/Berlin", 0.20),
    ("Remote", "Europe/Lisbon", 0.15),
)

# (department, share of the workforce); IT and the Executive office are sized separately.
DEPARTMENTS = (
    ("Finance", 0.10),
    ("Human Resources", 0.06),
    ("Sales", 0.16),
    ("Marketing", 0.08),
    ("Operations", 0.14),
    ("Logistics", 0.14),
    ("Engineering", 0.12),
    ("Legal", 0.04),
    ("Customer Service", 0.10),
    ("Procurement", 0.03),
    ("Facilities", 0.03),
)
