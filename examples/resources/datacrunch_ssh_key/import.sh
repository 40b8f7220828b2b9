# An SSH key is imported by its id.
terraform import datacrunch_ssh_key.me 01cf5dc1-a5d2-4972-ae4e-d429115d055b
