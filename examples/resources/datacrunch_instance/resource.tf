resource "datacrunch_ssh_key" "me" {
  name       = "kdevops-example"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"
}

# One GPU node per name, as kdevops creates them.
resource "datacrunch_instance" "node" {
  for_each = toset(["kdevops-1", "kdevops-2"])

  hostname      = each.key
  description   = "kdevops node ${each.key}"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "FIN-01"
  ssh_key_ids   = [datacrunch_ssh_key.me.id]

  os_volume = {
    size = 100
  }
  tags = {
    project = "kdevops"
  }

  timeouts {
    create = "20m"
    delete = "10m"
  }
}

output "controller_ip_map" {
  value = { for name, node in datacrunch_instance.node : name => node.ip }
}
