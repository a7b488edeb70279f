# SPDX-License-Identifier: Apache-2.0
# The emulator's fixtures: intune_emulator (reset before each test) and intune_emulator_server.
pytest_plugins = ["intune_scep.emulator.pytest_plugin"]
