resource "datacrunch_ssh_key" "me" {
  name       = "example-key"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"
}

resource "datacrunch_instance" "node" {
  hostname      = "example-1"
  description   = "power example"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  ssh_key_ids   = [datacrunch_ssh_key.me.id]
}

# terraform apply -invoke=action.datacrunch_instance_power.off
# A shut-down instance still bills until it is deleted.
action "datacrunch_instance_power" "off" {
  config {
    instance_id = datacrunch_instance.node.id
    action      = "shutdown"
  }
}
