//! Reading the asset register from CSV (`docs/channels.md`, "Assets"), as a plain function: a
//! header row naming the columns (any order; `serial` required), one asset per row. Every row is
//! checked; any problem, and nothing is imported — the answer lists the problems by line (at most
//! [`MAX_PROBLEMS`]), never echoing what the cells hold.

use std::collections::HashSet;

use crate::storage::AssetRecord;

/// Largest file read.
pub const MAX_CSV_BYTES: usize = 4 * 1024 * 1024;
/// Most assets in one file.
pub const MAX_ROWS: usize = 50_000;
/// Most problems listed.
const MAX_PROBLEMS: usize = 20;

/// The columns a file may have.
const COLUMNS: [&str; 9] = [
    "serial",
    "model",
    "site_address",
    "lat",
    "lon",
    "warranty_until",
    "owner_name",
    "owner_phone",
    "owner_email",
];

fn text(value: &str, max: usize, column: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(format!(
            "{column} is at most {max} characters, none of them control characters"
        ));
    }
    Ok(Some(value.to_owned()))
}

fn coordinate(value: &str, column: &str, bound: f64) -> Result<Option<f64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= bound => Ok(Some(v)),
        _ => Err(format!("{column} is a number from -{bound} to {bound}")),
    }
}

/// One row made an asset.
fn asset(
    cells: &[(usize, &str)],
    header: &[usize],
    tenant_id: &str,
    now_ms: i64,
) -> Result<AssetRecord, String> {
    let get = |column: usize| {
        header
            .iter()
            .position(|c| *c == column)
            .and_then(|i| cells.get(i))
            .map_or("", |(_, v)| *v)
    };
    let serial = text(get(0), 100, "serial")?.ok_or("serial is empty")?;
    let lat = coordinate(get(3), "lat", 90.0)?;
    let lon = coordinate(get(4), "lon", 180.0)?;
    if lat.is_some() != lon.is_some() {
        return Err("lat and lon come together".into());
    }
    let warranty_until = match text(get(5), 10, "warranty_until")? {
        Some(date) => Some(
            date.parse::<jiff::civil::Date>()
                .map_err(|_| "warranty_until is a date, YYYY-MM-DD".to_owned())?
                .to_string(),
        ),
        None => None,
    };
    let owner_email = text(get(8), 200, "owner_email")?;
    if owner_email.as_deref().is_some_and(|e| !e.contains('@')) {
        return Err("owner_email is an email address".into());
    }
    Ok(AssetRecord {
        tenant_id: tenant_id.to_owned(),
        serial,
        model: text(get(1), 200, "model")?,
        site_address: text(get(2), 300, "site_address")?,
        site_lat: lat,
        site_lon: lon,
        warranty_until,
        owner_name: text(get(6), 100, "owner_name")?,
        owner_phone: text(get(7), 40, "owner_phone")?,
        owner_email,
        updated_at: now_ms,
    })
}

/// The assets of a CSV file, or the problems (by line) that keep it from being imported.
pub fn read_csv(
    bytes: &[u8],
    tenant_id: &str,
    now_ms: i64,
) -> Result<Vec<AssetRecord>, Vec<String>> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(vec![format!(
            "the file is larger than {} MiB",
            MAX_CSV_BYTES / 1024 / 1024
        )]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let header: Vec<usize> = match records.next() {
        Some(Ok(row)) => {
            let mut columns = Vec::new();
            for name in row.iter() {
                let name = name.trim().to_ascii_lowercase();
                match COLUMNS.iter().position(|c| *c == name) {
                    Some(i) if !columns.contains(&i) => columns.push(i),
                    Some(_) => return Err(vec![format!("line 1: the column {name} comes twice")]),
                    None => {
                        return Err(vec![format!(
                            "line 1: unknown column; the columns are {}",
                            COLUMNS.join(", ")
                        )]);
                    }
                }
            }
            if !columns.contains(&0) {
                return Err(vec!["line 1: the header names no serial column".into()]);
            }
            columns
        }
        Some(Err(_)) => {
            return Err(vec![
                "line 1: the header row does not read as CSV (UTF-8)".into(),
            ]);
        }
        None => {
            return Err(vec![
                "the file is empty; the first line names the columns".into(),
            ]);
        }
    };
    let (mut assets, mut problems, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    for (i, row) in records.enumerate() {
        let line = i + 2;
        if assets.len() + problems.len() >= MAX_ROWS {
            problems.push(format!("more than {MAX_ROWS} assets; split the file"));
            break;
        }
        let made = match row {
            Ok(row) if row.iter().all(|c| c.trim().is_empty()) => continue,
            Ok(row) if row.len() > header.len() => Err("more cells than columns".to_owned()),
            Ok(row) => {
                let cells: Vec<(usize, &str)> = row.iter().enumerate().collect();
                asset(&cells, &header, tenant_id, now_ms)
            }
            Err(_) => Err("does not read as CSV (UTF-8)".to_owned()),
        };
        match made {
            Ok(a) if !seen.insert(a.serial.clone()) => {
                problems.push(format!("line {line}: the serial comes twice in the file"));
            }
            Ok(a) => assets.push(a),
            Err(problem) => problems.push(format!("line {line}: {problem}")),
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    if problems.is_empty() {
        Ok(assets)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_reads_with_its_columns_in_any_order() {
        let file = "\u{feff}Serial,model,lat,lon,site_address,warranty_until,owner_name,owner_phone\n\
                    FR-7,Frigo 300,31.2304,121.4737,\"Shop 12, Nanjing Rd\",2027-06-30,Wang Fang,+86 138 0013 8000\n\
                    \n\
                    OV-2,,,,,,,\n";
        let assets = read_csv(file.as_bytes(), "acme", 5).expect("reads");
        assert_eq!(assets.len(), 2);
        assert_eq!(assets[0].serial, "FR-7");
        assert_eq!(
            assets[0].site_address.as_deref(),
            Some("Shop 12, Nanjing Rd")
        );
        assert_eq!(
            (assets[0].site_lat, assets[0].site_lon),
            (Some(31.2304), Some(121.4737))
        );
        assert_eq!(assets[0].warranty_until.as_deref(), Some("2027-06-30"));
        assert_eq!(assets[1].model, None);
        assert_eq!(assets[1].updated_at, 5);
    }

    #[test]
    fn every_problem_is_named_by_line_and_nothing_is_read() {
        let file = "serial,lat,lon,warranty_until,owner_email\n\
                    A-1,91,0,,\n\
                    A-2,10,,,\n\
                    A-3,,,31/12/2027,\n\
                    ,,,,\n\
                    A-4,,,,not-an-address\n\
                    A-5,,,,x@y.z\n\
                    A-5,,,,\n\
                    A-6,,,,,extra\n";
        let problems = read_csv(file.as_bytes(), "acme", 0).expect_err("refused");
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(problems[0].starts_with("line 2: lat"));
        assert!(problems[1].starts_with("line 3: lat and lon"));
        assert!(problems[2].starts_with("line 4: warranty_until"));
        assert!(problems[3].starts_with("line 6: owner_email"));
        assert!(problems[4].starts_with("line 8: the serial comes twice"));
        assert!(problems[5].starts_with("line 9: more cells"));
        assert!(
            !problems.iter().any(|p| p.contains("not-an-address")),
            "cells are not echoed"
        );
        assert!(
            read_csv(b"model\nX\n", "acme", 0).is_err(),
            "no serial column"
        );
        assert!(
            read_csv(b"serial,colour\nX,red\n", "acme", 0).is_err(),
            "unknown column"
        );
        assert!(read_csv(b"", "acme", 0).is_err());
        assert!(
            read_csv(b"serial\n\xff\xfe\n", "acme", 0).is_err(),
            "not UTF-8"
        );
    }
}
