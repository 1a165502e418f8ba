//! Declaration macros for the `#[repr(u32)]` enums whose values go on the wire as they are
//! (object states, network roles, drain states): one place that writes their derives and
//! their conversions, for [`crate::model`] and [`crate::presentation`] alike.

/// Declares a `#[repr(u32)]` enum of wire values with `as_u32`.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vm])* $v = $n,)*
        }

        impl $name {
            /// Value on the wire.
            pub const fn as_u32(self) -> u32 {
                self as u32
            }
        }
    };
}
pub(crate) use wire_enum;

/// Declares, with `wire_enum!`, a state enum with `Unknown = 0xFFFFFFFF` and a
/// lossless-or-`Unknown` `from_u32`.
macro_rules! wire_state {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:expr),* $(,)? }) => {
        $crate::wire::wire_enum!(
            $(#[$m])*
            $name {
                $($(#[$vm])* $v = $n,)*
                /// The state cannot be determined (0xFFFFFFFF on the wire).
                Unknown = 0xFFFF_FFFF,
            }
        );

        impl $name {
            /// Parses a wire value; anything unrecognised is `Unknown`.
            pub const fn from_u32(v: u32) -> Self {
                match v {
                    $($n => Self::$v,)*
                    _ => Self::Unknown,
                }
            }
        }
    };
}
pub(crate) use wire_state;
