//! Basic funeral service fees (基本殡葬服务收费): the county's price list for the four basic
//! services, and what the family pays once the waiver is decided.
//!
//! A waiver covers the basic services in full (民政部等 《关于推行惠民殡葬政策的指导意见》
//! 2012: 免除基本殡葬服务费用); the price list is county policy (priced by the county's
//! pricing authority) and is recorded with each decision, so a later price change does not
//! rewrite what a family was told.

use money::{Fen, Overflow};

/// The county's prices of the basic services, in the order of [`super::waiver::BASIC_SERVICES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceList {
    pub transport: Fen,
    pub storage: Fen,
    pub cremation: Fen,
    pub ash_keeping: Fen,
}

impl Default for PriceList {
    /// Example prices (a county sets its own): transport 200 yuan, storage 150 yuan,
    /// cremation 400 yuan, ash keeping 100 yuan.
    fn default() -> Self {
        Self {
            transport: Fen::yuan(200),
            storage: Fen::yuan(150),
            cremation: Fen::yuan(400),
            ash_keeping: Fen::yuan(100),
        }
    }
}

impl PriceList {
    /// `(service, price)` pairs, named as in the contract.
    pub fn lines(&self) -> [(&'static str, Fen); 4] {
        [
            ("transport", self.transport),
            ("storage", self.storage),
            ("cremation", self.cremation),
            ("ash_keeping", self.ash_keeping),
        ]
    }
}

/// One basic service's price, waived and payable amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLine {
    pub service: String,
    pub price: Fen,
    pub waived: Fen,
    pub payable: Fen,
}

/// The fees of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fees {
    pub lines: Vec<FeeLine>,
    pub total_price: Fen,
    pub waived: Fen,
    pub payable: Fen,
}

/// What the family pays: nothing for a waived case, the full price otherwise.
pub fn assess(prices: &PriceList, waived: bool) -> Result<Fees, Overflow> {
    let lines: Vec<FeeLine> = prices
        .lines()
        .into_iter()
        .map(|(service, price)| {
            let waived_amount = if waived { price } else { Fen::ZERO };
            Ok(FeeLine {
                service: service.to_owned(),
                price,
                waived: waived_amount,
                payable: price.try_sub(waived_amount)?,
            })
        })
        .collect::<Result<_, Overflow>>()?;
    totals(lines)
}

/// Sums recorded lines (also used when reading them back).
pub fn totals(lines: Vec<FeeLine>) -> Result<Fees, Overflow> {
    Ok(Fees {
        total_price: Fen::try_sum(lines.iter().map(|l| l.price))?,
        waived: Fen::try_sum(lines.iter().map(|l| l.waived))?,
        payable: Fen::try_sum(lines.iter().map(|l| l.payable))?,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waived_case_pays_nothing_for_the_basic_services_and_keeps_their_prices() {
        let f = assess(&PriceList::default(), true).expect("fits");
        assert_eq!(f.total_price, Fen::yuan(850));
        assert_eq!(f.waived, Fen::yuan(850));
        assert_eq!(f.payable, Fen::ZERO);
        assert_eq!(f.lines.len(), 4);
        assert!(
            f.lines
                .iter()
                .all(|l| l.payable.is_zero() && l.waived == l.price)
        );
    }

    #[test]
    fn a_case_without_waiver_pays_the_county_price() {
        let f = assess(&PriceList::default(), false).expect("fits");
        assert_eq!((f.waived, f.payable), (Fen::ZERO, Fen::yuan(850)));
    }

    proptest::proptest! {
        /// Any prices a county may set (each bounded at decode): the lines add up, nothing wraps,
        /// a waived case pays nothing and an unwaived one pays the price.
        #[test]
        fn fees_add_up_for_any_county_prices(
            prices in proptest::array::uniform4(0..=Fen::MAX_DECLARED.get()),
            waived in proptest::bool::ANY,
        ) {
            let list = PriceList {
                transport: Fen::new(prices[0]),
                storage: Fen::new(prices[1]),
                cremation: Fen::new(prices[2]),
                ash_keeping: Fen::new(prices[3]),
            };
            let f = assess(&list, waived).expect("bounded prices fit");
            let total: i64 = prices.iter().sum();
            proptest::prop_assert_eq!(f.total_price.get(), total);
            proptest::prop_assert_eq!(f.waived.get() + f.payable.get(), total);
            proptest::prop_assert_eq!(f.payable.is_zero(), waived || total == 0);
        }

        /// Extreme prices (misconfigured beyond the bound) are an overflow, never a wrapped sum.
        #[test]
        fn extreme_prices_never_wrap(prices in proptest::array::uniform4(proptest::num::i64::ANY)) {
            let list = PriceList {
                transport: Fen::new(prices[0]),
                storage: Fen::new(prices[1]),
                cremation: Fen::new(prices[2]),
                ash_keeping: Fen::new(prices[3]),
            };
            let out_of_range = prices
                .iter()
                .scan(0i128, |sum, p| {
                    *sum += i128::from(*p);
                    Some(*sum)
                })
                .any(|sum| i64::try_from(sum).is_err());
            match assess(&list, false) {
                Ok(f) => {
                    let exact: i128 = prices.iter().map(|p| i128::from(*p)).sum();
                    proptest::prop_assert_eq!(i128::from(f.total_price.get()), exact);
                }
                Err(Overflow) => proptest::prop_assert!(out_of_range),
            }
        }
    }

    #[test]
    fn prices_that_do_not_add_up_in_range_are_an_overflow_not_a_wrap() {
        let p = PriceList {
            transport: Fen::new(i64::MAX),
            storage: Fen::new(i64::MAX),
            ..PriceList::default()
        };
        assert_eq!(assess(&p, false), Err(Overflow));
    }
}
