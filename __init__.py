"""progres: the plan de progrès of a groupement de commandes, as immutable events.

The import root ``progres`` is this folder (see pyproject.toml): ``progres.domain`` is ``domain/``,
``progres.services`` is ``services/`` and so on.
"""

__version__ = "0.2.0.dev0"
