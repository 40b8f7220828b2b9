list "datacrunch_volume" "all" {
  provider = datacrunch
  config {
    name_prefix = "kdevops-"
  }
}
