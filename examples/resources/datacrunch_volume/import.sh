# A volume is imported by its id.
terraform import datacrunch_volume.results cf995e26-ce69-4149-84a3-cdd1e100670f
