# The `make run` demo hub: one node, in-memory backplane, anonymous access
# for connections on 127.0.0.1 only. scripts/demo.sh picks the port with -listen.
listen          = "127.0.0.1:8080"
hub_id          = "demo-hub"
region          = "demo"
allow_anonymous = true

backplane {
  type = "memory"
}
