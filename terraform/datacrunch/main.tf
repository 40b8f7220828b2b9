# One SSH key per project (unless an existing key is named), the startup script when
# one is configured, and one instance per node.

resource "datacrunch_ssh_key" "kdevops" {
  count      = var.datacrunch_ssh_key_id == "" ? 1 : 0
  name       = var.datacrunch_ssh_key_name
  public_key = var.datacrunch_ssh_public_key
}

resource "datacrunch_startup_script" "kdevops" {
  count  = var.datacrunch_startup_script != "" ? 1 : 0
  name   = "kdevops-${var.datacrunch_project_id}-startup"
  script = var.datacrunch_startup_script
}

locals {
  ssh_key_id = var.datacrunch_ssh_key_id != "" ? var.datacrunch_ssh_key_id : datacrunch_ssh_key.kdevops[0].id
}

resource "datacrunch_instance" "kdevops" {
  for_each = var.datacrunch_nodes

  hostname      = each.key
  description   = "kdevops node ${each.key}"
  image         = each.value.image
  instance_type = each.value.instance_type
  location_code = each.value.location
  ssh_key_ids   = [local.ssh_key_id]
  # A script change replaces nodes (scripts run at first boot only): bringup refuses
  # that unless --replace says so.
  startup_script_id = var.datacrunch_startup_script != "" ? datacrunch_startup_script.kdevops[0].id : null
  is_spot       = var.datacrunch_is_spot

  delete_os_volume_on_destroy = !var.datacrunch_keep_volumes

  # The project mark: how the workflow tells this project's instances from anyone
  # else's, and the node's expiry, which `reap` reads from any checkout. A tag changes
  # in place, so it never replaces a node.
  tags = merge(
    { "kdevops-project" = var.datacrunch_project_id },
    each.value.expires_at == "" ? {} : { "kdevops-expires-at" = each.value.expires_at },
  )

  lifecycle {
    # Earlier versions put a path-derived marker in the description, which forces a
    # replacement when it changes: their nodes keep their description.
    ignore_changes = [description]
  }

  timeouts {
    create = "20m"
    delete = "10m"
  }
}
