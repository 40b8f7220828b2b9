# The images a V100 can boot (newer images are refused on older GPUs).
data "datacrunch_images" "v100" {
  instance_type = "1V100.6V"
}

output "v100_images" {
  value = [for i in data.datacrunch_images.v100.images : i.image_type]
}
