//! `safeguard submit`: sends a report to any server speaking the CyberTipline Reporting API
//! (another Safeguard instance, or NCMEC's test server), uploads its files streamed from disk,
//! posts each file's details with the new report and file ids written in, and finishes it.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use safeguard_formats::cybertipline::{self as wire, AnyResponse};

/// Arguments of `safeguard submit`.
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// Base URL of the API, e.g. https://exttest.cybertip.org/ispws.
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input (first line).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// The `<report>` document.
    pub report: PathBuf,
    /// A file to upload (repeatable).
    #[arg(long = "file")]
    pub files: Vec<PathBuf>,
    /// The `<fileDetails>` of the file of the same position (repeatable; "" for none).
    #[arg(long = "details")]
    pub details: Vec<PathBuf>,
    /// Retract the report if a step after /submit fails.
    #[arg(long)]
    pub retract_on_error: bool,
}

/// A client of the CyberTipline Reporting API.
pub struct IspwsClient {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
}

impl IspwsClient {
    pub fn new(base: &str, username: &str, password: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .use_rustls_tls()
                .build()
                .context("building the HTTP client")?,
            base: base.trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    async fn call(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<AnyResponse> {
        let response = req
            .basic_auth(&self.username, Some(&self.password))
            .send()
            .await
            .with_context(|| format!("{what}: request failed"))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        let parsed = wire::parse_any_response(&body).map_err(|e| {
            anyhow::anyhow!(
                "{what}: HTTP {status}, unreadable answer ({}) (Request-ID {request_id}): {}",
                e.description(),
                String::from_utf8_lossy(&body[..body.len().min(500)])
            )
        })?;
        if parsed.response_code() != 0 {
            let description = match &parsed {
                AnyResponse::Report(r) => r.response_description.clone(),
                AnyResponse::Done(_) => String::new(),
            };
            bail!(
                "{what}: HTTP {status}, code {}: {description} (Request-ID {request_id})",
                parsed.response_code()
            );
        }
        Ok(parsed)
    }

    fn report(r: AnyResponse, what: &str) -> anyhow::Result<wire::ReportResponse> {
        match r {
            AnyResponse::Report(r) => Ok(r),
            AnyResponse::Done(_) => bail!("{what}: unexpected reportDoneResponse"),
        }
    }

    /// POST /submit; the new report id.
    pub async fn submit(&self, xml: Vec<u8>) -> anyhow::Result<i64> {
        let req = self
            .http
            .post(format!("{}/submit", self.base))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(xml);
        Self::report(self.call(req, "submit").await?, "submit")?
            .report_id
            .context("submit: no reportId in the answer")
    }

    /// POST /upload of a body; (file id, MD5 hex).
    pub async fn upload(
        &self,
        report: i64,
        name: &str,
        body: reqwest::Body,
        len: Option<u64>,
    ) -> anyhow::Result<(String, String)> {
        let part = match len {
            Some(n) => reqwest::multipart::Part::stream_with_length(body, n),
            None => reqwest::multipart::Part::stream(body),
        }
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")?;
        let form = reqwest::multipart::Form::new()
            .text("id", report.to_string())
            .part("file", part);
        let req = self
            .http
            .post(format!("{}/upload", self.base))
            .multipart(form);
        let r = Self::report(self.call(req, "upload").await?, "upload")?;
        Ok((
            r.file_id.context("upload: no fileId")?,
            r.hash.unwrap_or_default(),
        ))
    }

    /// POST /fileinfo.
    pub async fn file_info(&self, xml: Vec<u8>) -> anyhow::Result<()> {
        let req = self
            .http
            .post(format!("{}/fileinfo", self.base))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(xml);
        self.call(req, "fileinfo").await.map(|_| ())
    }

    async fn form(&self, path: &str, report: i64) -> anyhow::Result<AnyResponse> {
        let form = reqwest::multipart::Form::new().text("id", report.to_string());
        let req = self
            .http
            .post(format!("{}/{path}", self.base))
            .multipart(form);
        self.call(req, path).await
    }

    /// POST /finish; every file id of the report.
    pub async fn finish(&self, report: i64) -> anyhow::Result<Vec<String>> {
        match self.form("finish", report).await? {
            AnyResponse::Done(d) => Ok(d.files),
            AnyResponse::Report(_) => bail!("finish: expected a reportDoneResponse"),
        }
    }

    /// POST /retract.
    pub async fn retract(&self, report: i64) -> anyhow::Result<()> {
        self.form("retract", report).await.map(|_| ())
    }
}

/// Writes `value` as the text of the first `<tag>` element of `xml` (the ids in a
/// `<fileDetails>` written for another server). The rest of the document is kept as it is.
pub fn rewrite_element(xml: &str, tag: &str, value: &str) -> anyhow::Result<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml
        .find(&open)
        .with_context(|| format!("the document has no <{tag}> element"))?
        + open.len();
    let end = start
        + xml[start..]
            .find(&close)
            .with_context(|| format!("<{tag}> is not closed"))?;
    Ok(format!("{}{}{}", &xml[..start], value, &xml[end..]))
}

pub async fn run(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    if args.details.len() > args.files.len() {
        bail!("more --details than --file");
    }
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.lines().next().unwrap_or("").to_owned();
    let client = IspwsClient::new(&args.url, &args.username, &password)?;
    let report_xml = std::fs::read(&args.report)
        .with_context(|| format!("reading {}", args.report.display()))?;
    let id = client.submit(report_xml).await?;
    println!("report {id}");
    let result = upload_all(&client, id, &args).await;
    match result {
        Ok(files) => {
            for f in files {
                println!("file {f}");
            }
            println!("finished");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.retract_on_error {
                match client.retract(id).await {
                    Ok(()) => eprintln!("report {id} retracted"),
                    Err(r) => eprintln!("retracting report {id} failed too: {r:#}"),
                }
            }
            Err(e)
        }
    }
}

async fn upload_all(
    client: &IspwsClient,
    id: i64,
    args: &SubmitArgs,
) -> anyhow::Result<Vec<String>> {
    for (i, path) in args.files.iter().enumerate() {
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata().await?.len();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        // Streamed from disk: the file is never held whole in memory.
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let (file_id, md5) = client.upload(id, &name, body, Some(len)).await?;
        println!("uploaded {} as file {file_id} (md5 {md5})", path.display());
        if let Some(details) = args.details.get(i).filter(|d| !d.as_os_str().is_empty()) {
            let text = std::fs::read_to_string(details)
                .with_context(|| format!("reading {}", details.display()))?;
            let text = rewrite_element(&text, "reportId", &id.to_string())?;
            let text = rewrite_element(&text, "fileId", &file_id)?;
            client.file_info(text.into_bytes()).await?;
        }
    }
    client.finish(id).await
}

#[cfg(test)]
mod tests {
    use super::rewrite_element;

    #[test]
    fn ids_are_rewritten_in_place() {
        let xml = "<fileDetails><reportId>1</reportId><fileId>abc</fileId><x/></fileDetails>";
        let out = rewrite_element(xml, "reportId", "42").expect("rewritten");
        let out = rewrite_element(&out, "fileId", "f00").expect("rewritten");
        assert_eq!(
            out,
            "<fileDetails><reportId>42</reportId><fileId>f00</fileId><x/></fileDetails>"
        );
        assert!(rewrite_element(xml, "missing", "1").is_err());
    }
}
