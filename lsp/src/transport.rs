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
        let answer = match read_frame(&mut input).await {
            Ok(Some(Ok(body))) => match check(&body) {
                Ok(()) => {
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
    while let Ok(Some(frame)) = read_frame(&mut output).await {
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
/// a header block without a usable length (which is skipped).
async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
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
    let mut body = Vec::new();
    let read = reader.take(length as u64).read_to_end(&mut body).await?;
    if read < length {
        return Ok(None); // The stream ended inside the body.
    }
    Ok(Some(Ok(body)))
}

/// Whether the library will accept `body`, or the answer to send instead.
fn check(body: &[u8]) -> Result<(), Vec<u8>> {
    if serde_json::from_slice::<Request>(body).is_ok()
        || serde_json::from_slice::<Response>(body).is_ok()
    {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
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
            read_frame(&mut reader).await.ok(),
            Some(Some(Ok(b"{}".to_vec())))
        );
        assert!(matches!(read_frame(&mut reader).await, Ok(Some(Err(_)))));
        assert_eq!(
            read_frame(&mut reader).await.ok(),
            Some(Some(Ok(b"[1]".to_vec())))
        );
        // Cut off inside the body: the end.
        assert_eq!(read_frame(&mut reader).await.ok(), Some(None));
    }

    #[test]
    fn only_json_rpc_messages_pass() {
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
}
