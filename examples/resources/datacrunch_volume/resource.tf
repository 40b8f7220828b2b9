# A scratch volume for test results. It is renamed and grown in place; attaching it
# to an instance (instance_id, or a datacrunch_volume_attachment) needs the instance
# shut down. Destroy deletes it for good (delete_permanently defaults to true), so
# nothing is left in the trash counting against the storage quota.
resource "datacrunch_volume" "results" {
  name          = "kdevops-results"
  size          = 500
  type          = "NVMe"
  location_code = "FIN-01"
  tags = {
    project = "kdevops"
  }
}
