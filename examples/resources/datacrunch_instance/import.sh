# An instance is imported by its id.
terraform import 'datacrunch_instance.node["kdevops-1"]' 3f2a4c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b
