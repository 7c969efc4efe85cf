"""clickatell-relay: MQTT alerts to SMS through Clickatell, for the edge.

Importing this package loads nothing heavy: the simulator is used where no
MQTT library is installed (the Home Assistant test environment).
"""

__version__ = "0.1.0"
