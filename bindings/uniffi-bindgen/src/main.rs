//! `uniffi-bindgen`: generates Kotlin, Swift and Python from the built `fieldwork_ffi` library,
//! from the same uniffi version the library is built with (see `scripts/bindings.sh`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
