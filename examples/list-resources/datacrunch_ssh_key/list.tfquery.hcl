list "datacrunch_ssh_key" "all" {
  provider = datacrunch
  config {
    name_prefix = "kdevops-"
  }
}
