//! The protobuf codec every generated client and server uses: tonic-prost's, except that a
//! message that does not decode (invalid UTF-8 in a string, a truncated message, a wrong wire
//! type) is INVALID_ARGUMENT (the caller sent bad bytes; retrying will not help) instead of
//! INTERNAL (which standard clients read as a server fault).

use std::marker::PhantomData;

use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstEncoder};

/// [`ProstCodec`] with a caller-fault status for undecodable messages.
#[derive(Debug, Clone)]
pub struct CivilCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for CivilCodec<T, U> {
    fn default() -> Self {
        Self {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for CivilCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CivilDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CivilDecoder {
            _message: PhantomData,
            buffer_settings: BufferSettings::default(),
        }
    }
}

/// Decodes a message; an undecodable one is INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct CivilDecoder<U> {
    _message: PhantomData<U>,
    buffer_settings: BufferSettings,
}

impl<U: prost::Message + Default> Decoder for CivilDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|e| {
            Status::invalid_argument(format!("the message is not valid protobuf: {e}"))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.buffer_settings
    }
}
