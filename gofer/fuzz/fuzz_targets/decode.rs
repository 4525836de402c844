//! The gofer's message decoder on arbitrary bytes: never a panic, never an
//! allocation beyond the message's own bound, and whatever decodes must
//! encode back to something that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = gofer::decode_request(data) {
        let bytes = gofer::encode_request(&req).expect("a decoded request encodes");
        assert_eq!(gofer::decode_request(&bytes).expect("and decodes again"), req);
    }
    if let Ok(resp) = gofer::decode_response(data) {
        let bytes = gofer::encode_response(&resp).expect("a decoded response encodes");
        assert_eq!(gofer::decode_response(&bytes).expect("and decodes again"), resp);
    }
});
