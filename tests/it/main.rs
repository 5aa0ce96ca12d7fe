//! Every integration test, in one binary: the simulator, the API client, the
//! exporter and the `report` command over real HTTP on 127.0.0.1, and the
//! static checks of the dashboard, the alert rules and the Grafana
//! provisioning files. Shared helpers live in [`util`], compiled once.

mod catalogue;
mod client_api;
mod dashboard_lint;
mod exporter_budget;
mod exporter_cli;
mod exporter_e2e;
mod exporter_metrics_filter;
mod exporter_orgwide;
mod exporter_push;
mod exporter_push_smoke;
mod exporter_resilience;
mod exporter_web;
mod hardening;
mod hostile_values;
mod provisioning_lint;
mod real_org;
mod real_org_client;
mod report_cli;
mod rules_lint;
mod sim_aggregates;
mod sim_http;
mod sim_notifications;
mod sim_observations;
mod sim_real_org;
mod sim_requests;
mod util;
