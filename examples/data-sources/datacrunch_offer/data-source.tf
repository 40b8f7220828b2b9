# The best GPU with capacity now, H100 or cheaper, in Finland, under 3 per hour.
data "datacrunch_offer" "gpu" {
  tier_group         = "H100_OR_LESS"
  locations          = ["FIN-01", "FIN-02", "FIN-03"]
  max_price_per_hour = 3
}

resource "datacrunch_instance" "node" {
  hostname      = "kdevops-1"
  description   = "kdevops node on ${data.datacrunch_offer.gpu.instance_type}"
  image         = "ubuntu-22.04-cuda-12.0-docker"
  instance_type = data.datacrunch_offer.gpu.instance_type
  location_code = data.datacrunch_offer.gpu.location
  ssh_key_ids   = []
}

output "why_not_the_others" {
  value = data.datacrunch_offer.gpu.skipped
}
