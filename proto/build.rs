//! Compiles `proto/almanac/v1/*.proto` with protox (pure Rust), so building
//! Almanac needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/almanac/v1/feature_store.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    // Every message also reads and writes JSON (proto field names, enums as
    // numbers, every field optional), which is how the Flight actions carry
    // requests from clients without protobuf, such as the Python package.
    tonic_prost_build::configure()
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .message_attribute(".", "#[serde(default)]")
        .enum_attribute(".", "#[serde(rename_all = \"snake_case\")]")
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
