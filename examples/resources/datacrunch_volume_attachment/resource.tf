# A results volume attached to a test node. The API attaches only while the instance is
# shut down; the node is running once created, so allow_power_cycle lets the provider
# shut it down, attach the volume and start it again (a warning says so).
resource "datacrunch_instance" "node" {
  hostname      = "kdevops-0"
  description   = "kdevops test node"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "FIN-01"
  ssh_key_ids   = []
}

resource "datacrunch_volume" "results" {
  name          = "kdevops-results"
  size          = 500
  location_code = "FIN-01"
}

resource "datacrunch_volume_attachment" "results" {
  volume_id         = datacrunch_volume.results.id
  instance_id       = datacrunch_instance.node.id
  allow_power_cycle = true
}
