output "gpus" {
  # 8
  value = provider::datacrunch::parse_instance_type("8H100.80S.176V").gpu_count
}
