# An attachment is imported by "<volume_id>/<instance_id>".
terraform import datacrunch_volume_attachment.results cf995e26-ce69-4149-84a3-cdd1e100670f/4fee633c-f6a1-4b1f-9b6c-6e8d3a1c2b7e
