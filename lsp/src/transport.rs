//! A guard around `tower-lsp-server`'s transport.
//!
//! `tower-lsp-server` 0.23 reads frames with `tokio_util`'s `FramedRead`, which ends the stream
//! after the first decoding error: one frame that is not JSON, or JSON that is not a JSON-RPC
//! message, and the server answers with an error and then stops reading, as if the client had
//! gone. So the server reads its input through this module instead:
//!
//! - incoming frames are parsed here; well-formed messages are passed on re-framed (with a
//!   clean `Content-Length` header), and anything else is answered here with a JSON-RPC
//!   `Parse error` (id `null`) or `Invalid Request` and dropped;
//! - a header block whose `Content-Length` is missing or unusable is answered with a parse
//!   error, and what was sent after a wrong length is read again from the next
//!   `Content-Length` header (junk before it on its line is skipped): a wrong length costs at
//!   most the message it ran into, never every message after it;
//! - where the library strays from the protocol, the guard answers for it: a request whose
//!   method starts with `$/` gets `MethodNotFound` (the library would never answer it, and
//!   the client would wait forever), and `shutdown` and `exit`, which take no parameters, are
//!   passed on without any (the library shuts down before it rejects the parameters, so a
//!   `shutdown` with parameters would be refused and obeyed at once);
//! - to write those answers without splitting the library's own frames, its output is also
//!   read frame by frame and both go out through one writer.

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    DuplexStream,
};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::{ClientSocket, LspService};

use crate::server::Server;

/// Bytes buffered between the guard and the library, each way.
const PIPE_SIZE: usize = 1 << 16;
/// The longest body read from the client; a longer one is read past and answered with an
/// error, so that a wrong `Content-Length` cannot make the server hold gigabytes.
const MAX_BODY: usize = 256 << 20;

/// Serves `service` on `input`/`output` until the library stops (after `exit`, or at the end of
/// the input).
pub(crate) async fn serve<I, O>(
    input: I,
    output: O,
    service: LspService<Server>,
    socket: ClientSocket,
) where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let (library_input, guard_input) = tokio::io::duplex(PIPE_SIZE);
    let (library_output, guard_output) = tokio::io::duplex(PIPE_SIZE);
    let (sender, receiver) = mpsc::unbounded_channel();
    // The input pump only holds a weak sender: the writer ends when the library's output does,
    // even if the client never closes its end of the input.
    let pump = tokio::spawn(pump_input(input, guard_input, sender.downgrade()));
    let reader = tokio::spawn(read_library_output(guard_output, sender));
    let library =
        tower_lsp_server::Server::new(library_input, library_output, socket).serve(service);
    tokio::join!(library, write_output(receiver, output));
    pump.abort();
    reader.abort();
}

/// Reads the client's frames, passes the valid ones to the library, answers the others.
async fn pump_input<I: AsyncRead + Unpin>(
    input: I,
    mut library: DuplexStream,
    errors: WeakUnboundedSender<Vec<u8>>,
) {
    let mut input = BufReader::new(input);
    loop {
        let answer = match read_frame(&mut input, MAX_BODY).await {
            Ok(Some(Ok(body))) => match check(body) {
                Ok(body) => {
                    if write_frame(&mut library, &body).await.is_err() {
                        return; // The library stopped reading (after `exit`).
                    }
                    continue;
                }
                Err(answer) => answer,
            },
            Ok(Some(Err(problem))) => error_response(&serde_json::Value::Null, -32700, &problem),
            Ok(None) | Err(_) => return, // End of input: dropping `library` tells the library.
        };
        tracing::warn!("rejected a malformed message");
        match errors.upgrade() {
            Some(errors) if errors.send(answer).is_ok() => {}
            _ => return,
        }
    }
}

/// Splits the library's output back into messages for the writer.
async fn read_library_output(output: DuplexStream, messages: UnboundedSender<Vec<u8>>) {
    let mut output = BufReader::new(output);
    while let Ok(Some(frame)) = read_frame(&mut output, usize::MAX).await {
        if let Ok(body) = frame
            && messages.send(body).is_err()
        {
            return;
        }
    }
}

async fn write_output<O: AsyncWrite + Unpin>(
    mut messages: UnboundedReceiver<Vec<u8>>,
    mut output: O,
) {
    while let Some(body) = messages.recv().await {
        if let Err(error) = write_frame(&mut output, &body).await {
            tracing::error!("cannot write to the client: {error}");
            return;
        }
    }
}

async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> std::io::Result<()> {
    writer
        .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .await?;
    writer.write_all(body).await?;
    writer.flush().await
}

/// Reads one `Content-Length` framed body: `None` at the end of the stream, `Some(Err(_))` for
/// a header block without a usable length (which is skipped) or a body longer than `limit`
/// (which is read past, not kept).
async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> std::io::Result<Option<Result<Vec<u8>, String>>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut in_headers = false;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            if in_headers {
                break;
            }
            continue; // Blank lines between frames are tolerated.
        }
        in_headers = true;
        let line = String::from_utf8_lossy(line);
        let line = from_content_length(&line);
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|e| format!("invalid Content-Length `{}`: {e}", value.trim())),
            );
        }
    }
    let length = match length {
        Some(Ok(length)) => length,
        Some(Err(problem)) => return Ok(Some(Err(problem))),
        None => return Ok(Some(Err("missing Content-Length header".to_string()))),
    };
    if length > limit {
        let skipped =
            tokio::io::copy(&mut reader.take(length as u64), &mut tokio::io::sink()).await?;
        if skipped < length as u64 {
            return Ok(None);
        }
        return Ok(Some(Err(format!(
            "a body of {length} bytes is longer than the {limit} this server reads"
        ))));
    }
    let mut body = Vec::new();
    let read = reader.take(length as u64).read_to_end(&mut body).await?;
    if read < length {
        return Ok(None); // The stream ended inside the body.
    }
    Ok(Some(Ok(body)))
}

/// A header line from its `Content-Length` header on, when junk precedes it: the rest of a
/// body whose `Content-Length` was too small (or of one that had none), which ran into the
/// next frame's header. Other lines are returned as they are.
fn from_content_length(line: &str) -> &str {
    const NAME: &str = "content-length";
    if line
        .get(..NAME.len())
        .is_some_and(|n| n.eq_ignore_ascii_case(NAME))
    {
        return line;
    }
    // ASCII lowercasing keeps every byte where it was.
    match line.to_ascii_lowercase().rfind(NAME) {
        Some(start) => {
            tracing::warn!(
                skipped = start,
                "junk before a Content-Length header skipped"
            );
            line.get(start..).unwrap_or(line)
        }
        None => line,
    }
}

/// The body to pass on to the library (`body` itself, or a corrected copy), or the answer to
/// send instead.
fn check(body: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
    if let Ok(request) = serde_json::from_slice::<Request>(&body) {
        return match (request.method(), request.id()) {
            (method, Some(id)) if method.starts_with("$/") => Err(error_response(
                &serde_json::to_value(id).unwrap_or_default(),
                -32601,
                &format!("Method not found: `{method}`"),
            )),
            ("shutdown" | "exit", _) if request.params().is_some() => {
                let (method, id, _) = request.into_parts();
                let mut message = serde_json::json!({"jsonrpc": "2.0", "method": method});
                if let Some(id) = id {
                    message["id"] = serde_json::to_value(id).unwrap_or_default();
                }
                Ok(message.to_string().into_bytes())
            }
            _ => Ok(body),
        };
    }
    if serde_json::from_slice::<Response>(&body).is_ok() {
        return Ok(body);
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Err(error) => Err(error_response(
            &serde_json::Value::Null,
            -32700,
            &format!("Parse error: {error}"),
        )),
        Ok(value) => {
            let id = value
                .get("id")
                .filter(|id| id.is_number() || id.is_string())
                .cloned()
                .unwrap_or_default();
            Err(error_response(
                &id,
                -32600,
                "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
            ))
        }
    }
}

fn error_response(id: &serde_json::Value, code: i64, message: &str) -> Vec<u8> {
    let response = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": message},
    });
    response.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_read_and_bad_headers_reported() {
        let input: &[u8] = b"Content-Length: 2\r\n\r\n{}\r\n\r\nX-Other: 1\r\n\r\ncontent-length: 3\r\nContent-Type: x\r\n\r\n[1]Content-Length: 9\r\n\r\n{}";
        let mut reader = BufReader::new(input);
        assert_eq!(
            read_frame(&mut reader, usize::MAX).await.ok(),
            Some(Some(Ok(b"{}".to_vec())))
        );
        assert!(matches!(
            read_frame(&mut reader, usize::MAX).await,
            Ok(Some(Err(_)))
        ));
        assert_eq!(
            read_frame(&mut reader, usize::MAX).await.ok(),
            Some(Some(Ok(b"[1]".to_vec())))
        );
        // Cut off inside the body: the end.
        assert_eq!(read_frame(&mut reader, usize::MAX).await.ok(), Some(None));
    }

    #[test]
    fn only_json_rpc_messages_pass() {
        let check = |body: &[u8]| check(body.to_vec());
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#).is_ok());
        assert!(check(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#).is_ok());
        assert!(check(br#"{"jsonrpc":"2.0","id":4,"result":null}"#).is_ok());
        let parse = check(b"{not json").expect_err("not JSON");
        let parse: serde_json::Value = serde_json::from_slice(&parse).unwrap_or_default();
        assert_eq!(parse["error"]["code"], -32700);
        assert!(parse["id"].is_null());
        let invalid = check(br#"{"id":7,"method":3}"#).expect_err("not JSON-RPC");
        let invalid: serde_json::Value = serde_json::from_slice(&invalid).unwrap_or_default();
        assert_eq!(invalid["error"]["code"], -32600);
        assert_eq!(invalid["id"], 7);
        assert!(check(b"[1, 2]").is_err());
    }

    #[test]
    fn dollar_requests_are_answered_and_shutdown_loses_its_parameters() {
        let check = |body: &str| check(body.as_bytes().to_vec());
        let answer =
            check(r#"{"jsonrpc":"2.0","id":"a","method":"$/unknown"}"#).expect_err("answered here");
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        assert_eq!(answer["error"]["code"], -32601);
        assert_eq!(answer["id"], "a");
        // As a notification it goes on (and is ignored by the library).
        let notification = r#"{"jsonrpc":"2.0","method":"$/unknown"}"#;
        assert_eq!(check(notification), Ok(notification.as_bytes().to_vec()));
        let shutdown =
            check(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown","params":{"now":true}}"#)
                .expect("passed on");
        let shutdown: serde_json::Value = serde_json::from_slice(&shutdown).unwrap_or_default();
        assert_eq!(
            shutdown,
            serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        );
    }

    #[test]
    fn junk_before_a_content_length_header_is_skipped() {
        assert_eq!(
            from_content_length("Content-Length: 5"),
            "Content-Length: 5"
        );
        assert_eq!(
            from_content_length("content-length: 5"),
            "content-length: 5"
        );
        assert_eq!(
            from_content_length(r#"d": 1}}CONTENT-LENGTH: 7"#),
            "CONTENT-LENGTH: 7"
        );
        assert_eq!(from_content_length("X-Other: 1"), "X-Other: 1");
        assert_eq!(from_content_length("é😊"), "é😊");
    }

    #[tokio::test]
    async fn a_wrong_length_costs_at_most_the_next_frame() {
        // Too short by 3: the cut body, then the rest of it before the next header.
        let input: &[u8] =
            b"Content-Length: 4\r\n\r\n[1, 2]Content-Length: 3\r\n\r\n[3]Content-Length: 3\r\n\r\n[4]";
        let mut reader = BufReader::new(input);
        assert_eq!(
            read_frame(&mut reader, usize::MAX).await.ok(),
            Some(Some(Ok(b"[1, ".to_vec())))
        );
        assert_eq!(
            read_frame(&mut reader, usize::MAX).await.ok(),
            Some(Some(Ok(b"[3]".to_vec())))
        );
        // Longer than the limit: reported, read past, and the next frame is read.
        let input: &[u8] = b"Content-Length: 6\r\n\r\n[1, 2]Content-Length: 3\r\n\r\n[3]";
        let mut reader = BufReader::new(input);
        assert!(matches!(read_frame(&mut reader, 5).await, Ok(Some(Err(_)))));
        assert_eq!(
            read_frame(&mut reader, 5).await.ok(),
            Some(Some(Ok(b"[3]".to_vec())))
        );
        // No usable length: reported, and its body is read past to the next header.
        let input: &[u8] = b"Content-Length: x\r\n\r\n[1]Content-Length: 3\r\n\r\n[2]";
        let mut reader = BufReader::new(input);
        assert!(matches!(
            read_frame(&mut reader, usize::MAX).await,
            Ok(Some(Err(_)))
        ));
        assert_eq!(
            read_frame(&mut reader, usize::MAX).await.ok(),
            Some(Some(Ok(b"[2]".to_vec())))
        );
    }
}
