# One SSH key per project (unless an existing key is named) and one instance per node.

resource "datacrunch_ssh_key" "kdevops" {
  count      = var.datacrunch_ssh_key_id == "" ? 1 : 0
  name       = var.datacrunch_ssh_key_name
  public_key = var.datacrunch_ssh_public_key
}

locals {
  ssh_key_id = var.datacrunch_ssh_key_id != "" ? var.datacrunch_ssh_key_id : datacrunch_ssh_key.kdevops[0].id
}

resource "datacrunch_instance" "kdevops" {
  for_each = var.datacrunch_nodes

  hostname      = each.key
  description   = "kdevops node ${each.key} ${var.datacrunch_project_marker}"
  image         = var.datacrunch_image
  instance_type = each.value.instance_type
  location_code = each.value.location
  ssh_key_ids   = [local.ssh_key_id]
  is_spot       = var.datacrunch_is_spot

  delete_os_volume_on_destroy = !var.datacrunch_keep_volumes

  timeouts {
    create = "20m"
    delete = "10m"
  }
}
