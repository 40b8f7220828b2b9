list "datacrunch_startup_script" "all" {
  provider = datacrunch
  config {
    name_prefix = "kdevops-"
  }
}
