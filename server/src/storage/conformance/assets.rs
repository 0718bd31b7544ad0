//! [`Assets`]: a register is stored all or none per call, replaced by serial, read per tenant,
//! listed by serial in pages and searched by text with LIKE's wildcards taken literally.

use super::{TestStore, tenant};
use crate::storage::{AssetRecord, Missing, StorageError};

fn asset(tenant_id: &str, serial: &str, model: Option<&str>) -> AssetRecord {
    AssetRecord {
        tenant_id: tenant_id.to_owned(),
        serial: serial.to_owned(),
        model: model.map(str::to_owned),
        site_address: Some("Shop 12, Nanjing Rd".into()),
        site_lat: Some(31.2304),
        site_lon: Some(121.4737),
        warranty_until: Some("2027-06-30".into()),
        owner_name: Some("Wang Fang".into()),
        owner_phone: Some("+8613800138000".into()),
        owner_email: None,
        updated_at: 10,
    }
}

pub fn a_register_is_kept_per_tenant_replaced_by_serial_and_searched(t: &TestStore) {
    let s = t.store.as_ref();
    let acme = tenant(s, "acme");
    let globex = tenant(s, "globex");
    let ours = vec![
        asset(&acme.id, "FR-2", Some("Frigo 300")),
        asset(&acme.id, "FR-1", Some("Frigo 100%")),
        asset(&acme.id, "OV-1", Some("Oven")),
    ];
    assert_eq!(s.put_assets(&acme.id, &ours).unwrap(), 3);
    s.put_assets(&globex.id, &[asset(&globex.id, "FR-1", Some("Theirs"))])
        .unwrap();
    assert!(matches!(
        s.put_assets("nobody", &ours),
        Err(StorageError::NotFound(Missing::Tenant))
    ));
    assert_eq!(s.asset(&acme.id, "FR-1").unwrap(), Some(ours[1].clone()));
    assert_eq!(
        s.asset(&globex.id, "FR-1")
            .unwrap()
            .unwrap()
            .model
            .as_deref(),
        Some("Theirs")
    );
    assert_eq!(s.asset(&acme.id, "none").unwrap(), None);
    // Replaced by serial.
    let mut newer = asset(&acme.id, "FR-1", Some("Frigo 110"));
    newer.updated_at = 20;
    s.put_assets(&acme.id, &[newer.clone()]).unwrap();
    assert_eq!(s.asset(&acme.id, "FR-1").unwrap(), Some(newer));
    // Pages by serial.
    let serials = |found: Vec<AssetRecord>| found.into_iter().map(|a| a.serial).collect::<Vec<_>>();
    assert_eq!(
        serials(s.list_assets(&acme.id, None, None, 2).unwrap()),
        ["FR-1", "FR-2"]
    );
    assert_eq!(
        serials(s.list_assets(&acme.id, None, Some("FR-2"), 2).unwrap()),
        ["OV-1"]
    );
    // Text anywhere, case-insensitive; `%` and `_` are literal.
    assert_eq!(
        serials(s.list_assets(&acme.id, Some("frigo"), None, 10).unwrap()),
        ["FR-1", "FR-2"]
    );
    assert_eq!(
        serials(s.list_assets(&acme.id, Some("100%"), None, 10).unwrap()),
        Vec::<String>::new(),
        "FR-1 is Frigo 110 now"
    );
    assert_eq!(
        serials(s.list_assets(&acme.id, Some("%"), None, 10).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        serials(s.list_assets(&acme.id, Some("nanjing"), None, 10).unwrap()).len(),
        3
    );
}
