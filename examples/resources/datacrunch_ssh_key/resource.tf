resource "datacrunch_ssh_key" "me" {
  name       = "my-laptop"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"
  # or: public_key = file(pathexpand("~/.ssh/id_ed25519.pub"))
}
