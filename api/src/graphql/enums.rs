//! GraphQL enums. The policy's own enums are mirrored with `remote`, so the policy module
//! stays free of GraphQL.

use async_graphql::Enum;

use crate::policy;

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "policy::Category")]
/// 情報区分 / information category of a personal field
pub enum Category {
    /// 本人特定 (氏名・カナ・生年月日・性別) / identity
    Identity,
    /// 連絡先 (住所・電話) / contact
    Contact,
    /// 世帯 (構成員・続柄) / household
    Household,
    /// 健康・障害 (要配慮) / health and disability (special care)
    Health,
    /// 生計 (収入・生活保護・債務・就労) / livelihood
    Livelihood,
    /// 虐待・保護 (要配慮) / abuse and protection (special care)
    ChildProtection,
    /// 相談記録等の記述 / narrative text
    Narrative,
    /// 支援プラン / support plan
    Plan,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "policy::Role")]
/// ロール / role
pub enum Role {
    /// 管理者 / administrator
    Admin,
    /// 多機関協働コーディネーター / multi-agency coordinator
    Coordinator,
    /// 相談支援員 / caseworker
    Caseworker,
    /// 生活支援コーディネーター / life support coordinator
    LifeSupportCoordinator,
    /// 分析担当 (集計のみ) / analyst (aggregates only)
    Analyst,
    /// 監査担当 / auditor
    Auditor,
    /// 連携システム / integration (service client)
    Integration,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "policy::AgencyKind")]
/// 機関種別 / agency kind
pub enum AgencyKind {
    /// 地域包括支援センター / comprehensive community care centre
    ComprehensiveCare,
    /// 障害者相談支援 / disability consultation
    Disability,
    /// こども家庭センター / children and family centre
    ChildFamily,
    /// 自立相談支援機関 / self-reliance (poverty) support
    SelfReliance,
    /// 参加支援 / participation support
    ParticipationSupport,
    /// 地域づくり (生活支援コーディネーター等) / community building
    CommunityBuilding,
    /// アウトリーチ / outreach
    Outreach,
    /// 多機関協働 / multi-agency coordination
    MultiAgency,
    /// 市役所 (所管課) / city office
    CityOffice,
    /// 第三者 / third party
    ThirdParty,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "policy::Purpose")]
/// 利用目的 / purpose of use
pub enum Purpose {
    /// 支援のための情報共有 / support and its coordination
    Support,
    /// 事業評価 / programme evaluation
    Evaluation,
}

/// A GraphQL enum stored as text: `as_str` for the database, `from_db` back (an unknown
/// stored value is an internal error). Usable from any graphql module:
/// `use super::enums::text_enum;`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Stored text back to the enum; unknown text is an internal inconsistency.
            pub fn from_db(text: &str) -> crate::error::ApiResult<Self> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(crate::error::ApiError::internal(stringify!($name), format!("unknown stored value {other:?}"))),
                }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum! {
    /// 性別 / sex
    Sex { Male = "MALE", Female = "FEMALE", Other = "OTHER", Unknown = "UNKNOWN" }
}

text_enum! {
    /// 法的位置づけ / the agency's legal regime for personal information
    LegalRegime {
        /// 行政機関等 (個人情報保護法 第69条) / public body
        PublicBody = "PUBLIC_BODY",
        /// 民間事業者 (同法 第27条) / private operator (社会福祉法人, 社協, NPO)
        PrivateOperator = "PRIVATE_OPERATOR",
    }
}

text_enum! {
    /// 表示の根拠の種類 (台帳の絞り込み) / the kind of basis a field was shown on (ledger filter)
    BasisKind {
        /// 自機関の記録 / the agency's own record
        Own = "OWN",
        /// 同意 / a consent
        Consent = "CONSENT",
        /// 支援会議 (社会福祉法 第106条の6) / a support meeting
        SupportMeeting = "SUPPORT_MEETING",
        /// 緊急時アクセス / emergency access
        Emergency = "EMERGENCY",
    }
}

text_enum! {
    /// アカウント種別 / account kind
    AccountKind { Staff = "STAFF", Service = "SERVICE" }
}

text_enum! {
    /// 受付経路 / channel
    Channel {
        Visit = "VISIT", Phone = "PHONE", Outreach = "OUTREACH", Email = "EMAIL",
        Referral = "REFERRAL", Other = "OTHER",
    }
}

text_enum! {
    /// 緊急度 / urgency
    Urgency { Low = "LOW", Normal = "NORMAL", High = "HIGH", Critical = "CRITICAL" }
}

text_enum! {
    /// 相談の状態 / consultation status
    ConsultationStatus {
        Open = "OPEN", InProgress = "IN_PROGRESS", Referred = "REFERRED", Closed = "CLOSED",
    }
}

text_enum! {
    /// つなぎの状態 / referral status
    ReferralStatus {
        Proposed = "PROPOSED", Accepted = "ACCEPTED", Declined = "DECLINED", Completed = "COMPLETED",
    }
}

text_enum! {
    /// 同意者 / who gave the consent
    GivenBy {
        /// 本人 / the person
        #[graphql(name = "SELF")]
        SelfGiven = "SELF",
        /// 代理人 (親権者・成年後見人等) / a proxy
        Proxy = "PROXY",
    }
}

text_enum! {
    /// 同意の取得方法 / how the consent was obtained
    ConsentMethod {
        /// 書面 / written
        Written = "WRITTEN",
        /// 口頭 (立会人あり) / oral with a witness
        OralWithWitness = "ORAL_WITH_WITNESS",
        /// 電子 / electronic
        Electronic = "ELECTRONIC",
    }
}

text_enum! {
    /// 課題の機微度 / sensitivity of an issue category
    Sensitivity {
        Normal = "NORMAL", Sensitive = "SENSITIVE",
        /// 要配慮個人情報 / special-care personal information
        RequiresCare = "REQUIRES_CARE",
    }
}

text_enum! {
    /// 監査ログの種別 / ledger action
    AuditAction { Read = "READ", Write = "WRITE" }
}
