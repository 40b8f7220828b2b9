resource "datacrunch_ssh_key" "me" {
  name       = "cluster-example"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"
}

# Two 8-GPU H200 nodes behind a jump host, sharing a 1 TB /home.
resource "datacrunch_cluster" "training" {
  cluster_type  = "16H200"
  image         = "ubuntu-22.04-cuda-12.4-cluster"
  hostname      = "training"
  description   = "kdevops training cluster"
  location_code = "FIN-03"
  ssh_key_ids   = [datacrunch_ssh_key.me.id]

  shared_volume = {
    name = "training-home"
    size = 1000
  }
  tags = {
    project = "kdevops"
  }

  timeouts {
    create = "60m"
  }
}

output "jump_host" {
  value = datacrunch_cluster.training.ip
}

output "workers" {
  value = { for w in datacrunch_cluster.training.worker_nodes : w.hostname => w.private_ip }
}
