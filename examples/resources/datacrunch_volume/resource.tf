# A scratch volume for test results. It is renamed and grown in place; attaching it
# to an instance (instance_id) needs the instance shut down.
resource "datacrunch_volume" "results" {
  name          = "kdevops-results"
  size          = 500
  type          = "NVMe"
  location_code = "FIN-01"
  tags = {
    project = "kdevops"
  }
  delete_permanently = false # destroy moves it to the trash
}
