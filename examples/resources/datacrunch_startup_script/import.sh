# A startup script is imported by its id.
terraform import datacrunch_startup_script.setup 8a1c2d3e-4f5a-4b6c-9d7e-1f2a3b4c5d6e
