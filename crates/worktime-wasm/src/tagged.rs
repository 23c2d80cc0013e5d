//! Reads a message `{type: "t", ...fields}` — a JS object, internally tagged
//! — into a serde enum derived in the default, externally tagged form
//! (`#[serde(deny_unknown_fields)]`, variants named by `type`), without
//! buffering.
//!
//! Why not `#[serde(tag = "type")]`: serde reads an internally tagged enum by
//! first copying every field into its private `Content` tree, which cost the
//! wasm 39 KB. And why not `serde_wasm_bindgen::from_value` on
//! `{t: {...fields}}`: its struct reader looks up only the fields the struct
//! names, so `deny_unknown_fields` never sees an extra one. Here the tag is
//! read first, straight from the object, and the variant's fields are handed
//! to serde as a map of *every* own property, each value read by
//! `serde-wasm-bindgen`; so serde refuses an unknown type, a missing, extra
//! or mistyped field, by name.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde_wasm_bindgen::Error;
use wasm_bindgen::{JsCast, JsValue};

/// Decodes `message` into `T` (see the module docs).
pub fn from_tagged<T: de::DeserializeOwned>(message: JsValue) -> Result<T, String> {
    T::deserialize(Tagged::of(message)?).map_err(|e| e.to_string())
}

/// A message split into its tag and its other own properties.
struct Tagged {
    tag: String,
    fields: Fields,
}

impl Tagged {
    fn of(message: JsValue) -> Result<Tagged, String> {
        if !message.is_object() || js_sys::Array::is_array(&message) {
            return Err(format!(
                "invalid type: {}, expected a message object with a string `type`",
                crate::error::js_text(&message)
            ));
        }
        let object: &js_sys::Object = message.unchecked_ref();
        let mut tag = None;
        let mut rest = Vec::new();
        for pair in js_sys::Object::entries(object).iter() {
            let pair: js_sys::Array = pair.unchecked_into();
            let (key, value) = (pair.get(0).as_string().unwrap_or_default(), pair.get(1));
            if key == "type" {
                tag = value.as_string();
            } else {
                rest.push((key, value));
            }
        }
        let tag = tag.ok_or_else(|| "missing field `type` (a string)".to_owned())?;
        Ok(Tagged {
            tag,
            fields: Fields {
                rest: rest.into_iter(),
                value: None,
            },
        })
    }
}

/// The variant's fields as a serde map: every own property but `type`.
struct Fields {
    rest: std::vec::IntoIter<(String, JsValue)>,
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.rest.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().unwrap_or(JsValue::UNDEFINED);
        seed.deserialize(serde_wasm_bindgen::Deserializer::from(value))
    }
}

impl<'de> de::Deserializer<'de> for Tagged {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> de::EnumAccess<'de> for Tagged {
    type Error = Error;
    type Variant = Fields;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Fields), Error> {
        let tag: de::value::StringDeserializer<Error> = self.tag.into_deserializer();
        Ok((seed.deserialize(tag)?, self.fields))
    }
}

impl<'de> de::VariantAccess<'de> for Fields {
    type Error = Error;

    /// A message without fields: any field it carries is one too many.
    fn unit_variant(mut self) -> Result<(), Error> {
        match self.rest.next() {
            None => Ok(()),
            Some((key, _)) => Err(de::Error::custom(format_args!(
                "unknown field `{key}`, there are no fields"
            ))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(de::Error::custom("a message is never a newtype variant"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("a message is never a tuple variant"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(self)
    }
}
