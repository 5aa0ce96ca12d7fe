//! Genesys Cloud regions: the 18 SDK region ids and their domains, and the
//! derivation of the API and login base URLs (`api.<domain>` → `login.<domain>`).

use reqwest::Url;

/// The SDK region ids and domains (Python/.NET SDK region host tables).
pub const REGIONS: [(&str, &str); 18] = [
    ("us_east_1", "mypurecloud.com"),
    ("us_east_2", "use2.us-gov-pure.cloud"),
    ("us_west_2", "usw2.pure.cloud"),
    ("ca_central_1", "cac1.pure.cloud"),
    ("sa_east_1", "sae1.pure.cloud"),
    ("mx_central_1", "mxc1.pure.cloud"),
    ("eu_west_1", "mypurecloud.ie"),
    ("eu_west_2", "euw2.pure.cloud"),
    ("eu_central_1", "mypurecloud.de"),
    ("eu_central_2", "euc2.pure.cloud"),
    ("me_central_1", "mec1.pure.cloud"),
    ("ap_south_1", "aps1.pure.cloud"),
    ("ap_northeast_1", "mypurecloud.jp"),
    ("ap_northeast_2", "apne2.pure.cloud"),
    ("ap_northeast_3", "apne3.pure.cloud"),
    ("ap_southeast_1", "apse1.pure.cloud"),
    ("ap_southeast_2", "mypurecloud.com.au"),
    ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
];

/// Resolves a region given as an SDK id (`eu_west_1`, also `eu-west-1`) or as a
/// domain (`mypurecloud.ie`, also `api.mypurecloud.ie`) to its domain.
pub fn resolve_domain(region: &str) -> Result<&'static str, String> {
    let wanted = region.trim().trim_end_matches('.').to_ascii_lowercase();
    let as_id = wanted.replace('-', "_");
    let as_domain = wanted
        .strip_prefix("api.")
        .or_else(|| wanted.strip_prefix("login."))
        .unwrap_or(&wanted);
    REGIONS
        .iter()
        .find(|(id, domain)| *id == as_id || *domain == as_domain)
        .map(|(_, domain)| *domain)
        .ok_or_else(|| {
            format!(
                "unknown Genesys Cloud region {region:?} in --genesys.region (GENESYS_REGION); \
                 use an SDK region id such as us_east_1 or eu_west_1, a domain such as \
                 mypurecloud.ie, or --genesys.api-url for a custom host"
            )
        })
}

/// The API base URL of a region (as [`resolve_domain`] reads it):
/// `https://api.<domain>`.
pub fn resolve_api_base(region: &str) -> Result<Url, String> {
    resolve_domain(region).map(api_base_for_domain)
}

/// The API base URL of a domain from [`REGIONS`]; panics on any other text,
/// so it only ever sees the table's entries.
fn api_base_for_domain(domain: &'static str) -> Url {
    Url::parse(&format!("https://api.{domain}")).expect("region domains are valid hosts")
}

/// The login base URL derived from an API base URL the way the Genesys SDKs do:
/// a host starting with `api.` becomes `login.`; any other host (a simulator on
/// 127.0.0.1, a proxy) is used as is, so `/oauth/token` goes to the same host.
pub fn login_base_for_api(api_base: &Url) -> Url {
    let mut login = api_base.clone();
    if let Some(host) = api_base.host_str() {
        if let Some(rest) = host
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("api."))
            .map(|_| &host[4..])
        {
            // Replacing a DNS label keeps the URL valid, so this cannot fail.
            let _ = login.set_host(Some(&format!("login.{rest}")));
        }
    }
    login
}

/// Parses and checks a base URL given on the command line: http or https, a
/// host, no query or fragment. A trailing slash is removed.
pub fn parse_base_url(text: &str, flag: &str) -> Result<Url, String> {
    // Never echo a value that may embed credentials.
    let shown = if text.contains('@') {
        String::from("(value hidden: it contains '@')")
    } else {
        format!("{text:?}")
    };
    let url =
        Url::parse(text.trim()).map_err(|e| format!("{flag} {shown} is not a valid URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{flag} must not embed credentials; use the client id and secret settings"
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{flag} {shown} must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{flag} {shown} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{flag} {shown} must not have a query or fragment"));
    }
    Ok(trim_trailing_slash(url))
}

/// Returns the URL as text without a trailing slash, ready for `base + "/api/v2/…"`.
pub fn base_string(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

fn trim_trailing_slash(mut url: Url) -> Url {
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every one of the 18 SDK regions resolves by id and by domain to the same
    /// API and login hosts as in the SDK table.
    #[test]
    fn all_regions_resolve_by_id_and_domain() {
        assert_eq!(REGIONS.len(), 18);
        for (id, domain) in REGIONS {
            assert_eq!(resolve_domain(id), Ok(domain));
            assert_eq!(resolve_domain(domain), Ok(domain));
            assert_eq!(
                resolve_domain(&id.to_uppercase().replace('_', "-")),
                Ok(domain)
            );
            let api = resolve_api_base(id).expect("known region");
            assert_eq!(api.host_str(), Some(format!("api.{domain}").as_str()));
            let login = login_base_for_api(&api);
            assert_eq!(login.as_str(), format!("https://login.{domain}/"));
        }
        assert_eq!(resolve_domain("api.mypurecloud.ie"), Ok("mypurecloud.ie"));
        assert_eq!(
            resolve_domain("eusc_de_east_1"),
            Ok("edee1.eusc-pure.cloud")
        );
    }

    /// Invented hosts from unreliable tutorials are rejected with a hint.
    #[test]
    fn unknown_regions_are_rejected() {
        for bad in ["eu", "login.eu.mypurecloud.com", "us.genesyscloud.com", ""] {
            let err = resolve_domain(bad).expect_err("rejected");
            assert!(err.contains("--genesys.region"), "{err}");
        }
    }

    /// The login host follows the api.→login. rule and keeps the same host otherwise.
    #[test]
    fn login_derivation() {
        let sim = parse_base_url("http://127.0.0.1:8080/", "--genesys.api-url").expect("ok");
        assert_eq!(base_string(&sim), "http://127.0.0.1:8080");
        assert_eq!(login_base_for_api(&sim), sim);
        let proxy = parse_base_url("https://API.example.test/genesys/", "f").expect("ok");
        assert_eq!(
            base_string(&login_base_for_api(&proxy)),
            "https://login.example.test/genesys"
        );
        let apex = parse_base_url("https://apix.example.test", "f").expect("ok");
        assert_eq!(login_base_for_api(&apex), apex);
    }

    /// Base URLs with a wrong scheme, a query or embedded credentials are refused.
    #[test]
    fn bad_base_urls() {
        for bad in [
            "ftp://x.test",
            "not a url",
            "https://x.test/?a=1",
            "https://u:p@x.test",
        ] {
            assert!(parse_base_url(bad, "--genesys.api-url").is_err(), "{bad}");
        }
    }
}
