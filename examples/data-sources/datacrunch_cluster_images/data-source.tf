# The images a 16H200 cluster can boot (cluster images end in "-cluster").
data "datacrunch_cluster_images" "h200" {
  cluster_type = "16H200"
}

output "h200_cluster_images" {
  value = [for i in data.datacrunch_cluster_images.h200.images : i.image_type]
}
