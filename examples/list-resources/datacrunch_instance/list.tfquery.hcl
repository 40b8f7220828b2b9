# terraform query -generate-config-out=generated.tf
# writes a resource and an import block for each instance found; a following
# terraform plan imports them with no other change.
list "datacrunch_instance" "kernel" {
  provider = datacrunch
  config {
    hostname_prefix = "kdevops-"
    tag             = { team = "kernel" }
  }
}
