use super::*;

fn names() -> Vec<String> {
    self_signed_names(&"127.0.0.1:8787".parse().unwrap(), &[])
}

fn days(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(24 * n)
}

#[test]
fn the_self_signed_certificate_survives_a_restart_and_its_keys_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    let now = jiff::Timestamp::now();
    let first = self_signed(&tls_dir, &names(), now).unwrap();
    assert_eq!(first.made.len(), 2, "{:?}", first.made);
    let second = self_signed(&tls_dir, &names(), now + days(100)).unwrap();
    assert!(second.made.is_empty(), "{:?}", second.made);
    assert_eq!(first.tls.fingerprint, second.tls.fingerprint);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for (file, mode) in [("ca-key.pem", 0o600), ("key.pem", 0o600)] {
            let got = std::fs::metadata(tls_dir.join(file))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(got, mode, "{file}");
        }
        let got = std::fs::metadata(&tls_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, 0o700);
    }
}

#[test]
fn an_expiring_or_misnamed_certificate_is_made_again_under_the_same_ca() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let first = self_signed(dir.path(), &names(), now).unwrap();
    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();

    // 800 of 825 days on: within 30 days of expiry.
    let later = self_signed(dir.path(), &names(), now + days(800)).unwrap();
    assert_eq!(later.made.len(), 1, "{:?}", later.made);
    assert!(
        later.made[0].contains("expires within 30 days"),
        "{:?}",
        later.made
    );
    assert_ne!(later.tls.fingerprint, first.tls.fingerprint);
    assert_eq!(
        std::fs::read(dir.path().join("ca.pem")).unwrap(),
        ca,
        "the CA stays"
    );

    let mut more = names();
    more.push("gw.example.internal".into());
    let renamed = self_signed(dir.path(), &more, now + days(800)).unwrap();
    assert!(
        renamed.made[0].contains("not issued for `gw.example.internal`"),
        "{:?}",
        renamed.made
    );
    let again = self_signed(dir.path(), &more, now + days(800)).unwrap();
    assert!(again.made.is_empty(), "{:?}", again.made);
    assert_eq!(
        std::fs::read(dir.path().join("ca.pem")).unwrap(),
        ca,
        "the CA stays"
    );
}

#[test]
fn a_ca_it_cannot_read_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    self_signed(dir.path(), &names(), now).unwrap();
    std::fs::write(dir.path().join("ca-key.pem"), "garbage").unwrap();
    let e = self_signed(dir.path(), &names(), now).err().unwrap();
    assert!(
        e.contains("cannot read gw's CA") && e.contains("delete ca.pem and ca-key.pem"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca-key.pem")).unwrap(),
        "garbage"
    );

    std::fs::remove_file(dir.path().join("ca-key.pem")).unwrap();
    let e = self_signed(dir.path(), &names(), now).err().unwrap();
    assert!(e.contains("only half of gw's CA"), "{e}");
}

#[test]
fn a_certificate_swapped_for_one_of_another_ca_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    self_signed(dir.path(), &names(), now).unwrap();
    self_signed(other.path(), &names(), now).unwrap();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(other.path().join(file), dir.path().join(file)).unwrap();
    }
    let again = self_signed(dir.path(), &names(), now).unwrap();
    assert!(
        again.made[0].contains("not signed by the CA"),
        "{:?}",
        again.made
    );
}

#[test]
fn names_cover_localhost_the_listen_address_and_extra_names_once() {
    let n = self_signed_names(
        &"10.1.2.3:443".parse().unwrap(),
        &["gw.corp".into(), "LOCALHOST".into()],
    );
    assert_eq!(n, ["localhost", "127.0.0.1", "::1", "10.1.2.3", "gw.corp"]);
    let any = self_signed_names(&"0.0.0.0:443".parse().unwrap(), &[]);
    assert!(any.starts_with(&["localhost".into(), "127.0.0.1".into(), "::1".into()]));
}

#[test]
fn a_ca_key_that_is_not_the_cas_is_found_before_anything_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    self_signed(dir.path(), &names(), now).unwrap();
    self_signed(other.path(), &names(), now).unwrap();
    std::fs::copy(
        other.path().join("ca-key.pem"),
        dir.path().join("ca-key.pem"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("cert.pem")).unwrap();
    let e = self_signed(dir.path(), &names(), now).err().unwrap();
    assert!(e.contains("does not belong to"), "{e}");
    assert!(!dir.path().join("cert.pem").exists(), "nothing written");
}

#[test]
fn a_name_no_certificate_can_hold_is_refused_before_anything_is_made() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["foo bar", "*.example.com", ""] {
        let mut n = names();
        n.push(bad.into());
        let e = self_signed(dir.path(), &n, jiff::Timestamp::now())
            .err()
            .unwrap();
        assert!(e.contains("--tls-name"), "{bad}: {e}");
    }
    assert!(!dir.path().join("ca.pem").exists());
}
