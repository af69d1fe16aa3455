"""Print the floor of every core dependency in pyproject.toml as a pin (``name==floor``), torch aside.

``make test-min`` installs kglink under these constraints, so the floors stated are the
floors tested. torch stays at the pinned CPU wheel.
"""

import re
import tomllib

with open("pyproject.toml", "rb") as f:
    for dep in tomllib.load(f)["project"]["dependencies"]:
        name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", dep).groups()
        if name != "torch":
            print(f"{name}=={floor}")
