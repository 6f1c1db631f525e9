//! Every public data set the engine is tested on, in one place: where its publisher (or the
//! package that ships it) serves it, the files it unpacks to, their SHA-256 checksums, its licence
//! and how to cite it. `discount datasets fetch` downloads from here; docs/datasets.md quotes it.
//!
//! The checksums are those of the files the tests read (the copies under `../shared/data`), and,
//! where the origin ships an archive or an R data file, of that file itself, so a download is
//! checked before it is unpacked or converted and every file after.

/// One data set as its origin serves it.
pub struct DataSource {
    /// The name `discount datasets fetch` takes (the folder's name is accepted too).
    pub name: &'static str,
    /// Its folder under the data directory: where the tests look for it.
    pub folder: &'static str,
    pub title: &'static str,
    pub licence: &'static str,
    pub citation: &'static str,
    pub download: Download,
    pub files: &'static [DataFile],
}

/// How the origin serves the data set's files.
pub enum Download {
    /// Each file from its own URL ([`DataFile::origin`]), as is.
    Files,
    /// One archive holding every file; [`DataFile::origin`] is the member's path inside it.
    Archive {
        url: &'static str,
        sha256: &'static str,
        format: ArchiveFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// A zip file (Python wheels are zip files).
    Zip,
    /// A gzip-compressed tar file (Python source distributions).
    TarGz,
}

/// One file of a data set.
pub struct DataFile {
    /// Where it lands, relative to the data set's folder.
    pub path: &'static str,
    /// Its URL ([`Download::Files`]) or its member path in the archive ([`Download::Archive`]).
    pub origin: &'static str,
    /// SHA-256 of the file as the tests read it (after [`DataFile::derive`], when there is one).
    pub sha256: &'static str,
    pub derive: Derive,
}

/// What turns the origin's bytes into the file the tests read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derive {
    /// Nothing: the file is the origin's bytes.
    AsIs,
    /// The origin separates fields with ';' where the tests read ',' (no field holds either).
    SemicolonsToCommas,
    /// The Open Bandit Pipeline's `prior_bts.yaml`: the Beta prior (alpha, beta per item) of one
    /// campaign as a CSV `item_id,alpha,beta` (CRLF), the numbers written as the YAML writes them.
    BtsPriorCsv { campaign: &'static str },
    /// A data frame of an R data file (`.rda`: gzip, bzip2 or xz compressed R serialization), the
    /// object `object` or, for a named list of data frames, its element `element`, written as CSV
    /// as Python `rdata` 1.1.0 and pandas wrote the folder's copy (see [`super::rdata`]). The R
    /// file is checked against `rda_sha256` before it is read.
    RdataFrame {
        rda_sha256: &'static str,
        object: &'static str,
        element: Option<&'static str>,
    },
}

/// All data sets, in the order `fetch all` takes them.
pub static SOURCES: &[DataSource] = &[
    DataSource {
        name: "hillstrom",
        folder: "hillstrom-minethatdata",
        title: "Kevin Hillstrom's MineThatData E-Mail Analytics and Data Mining Challenge (2008): \
                64,000 customers randomly sent a Mens e-mail, a Womens e-mail or none",
        licence: "No formal licence: released freely by its author for the 2008 public challenge and \
                  redistributed by open-source uplift libraries since; cite the author",
        citation: "Kevin Hillstrom, MineThatData E-Mail Analytics and Data Mining Challenge, March 2008",
        download: Download::Files,
        files: &[DataFile {
            path: "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
            origin: "http://www.minethatdata.com/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
            sha256: "0e5893329d8b93cefecc571777672028290ab69865718020c78c7284f291aece",
            derive: Derive::AsIs,
        }],
    },
    DataSource {
        name: "complete-journey",
        folder: "dunnhumby-completejourney",
        title: "84.51 / dunnhumby The Complete Journey 2.0: 2,469 grocery households' coupon campaigns, \
                redemptions, demographics, products and a 75,000-line receipt sample",
        licence: "CC0 (R package completejourney 1.1.1, data from the 84.51 Complete Journey 2.0 source files)",
        citation: "84.51 The Complete Journey 2.0; Boehmke & Mortimer, R package completejourney 1.1.1",
        download: Download::Files,
        files: &[
            DataFile {
                path: "campaign_descriptions.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/campaign_descriptions.rda",
                sha256: "e1e413b4c20f7aabb910ecf0bf8cb2eb02df9eb0c1d84235139505a9b56d4e0a",
                derive: Derive::RdataFrame {
                    rda_sha256: "601bd17ea1a6de92cc288f393164813fbaf293b997d44054dcf1f3ebbe8dacee",
                    object: "campaign_descriptions",
                    element: None,
                },
            },
            DataFile {
                path: "campaigns.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/campaigns.rda",
                sha256: "ff6dba03d78fab322835572556856b4d4ec8a95a8c1f1776d866f0de88dcdcca",
                derive: Derive::RdataFrame {
                    rda_sha256: "33c7b3dc1bc722d465f97416fb1327c6a9a640190e464c73e354bce8c001a772",
                    object: "campaigns",
                    element: None,
                },
            },
            DataFile {
                path: "coupon_redemptions.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/coupon_redemptions.rda",
                sha256: "97e666d52f41c6ccc9266eebbe31a754182317392f810c703f96b5d3a46cf1e0",
                derive: Derive::RdataFrame {
                    rda_sha256: "4b68148175ed19300bb2615d68d1a0300a5f971db3240819ab5d92e5919e1598",
                    object: "coupon_redemptions",
                    element: None,
                },
            },
            DataFile {
                path: "coupons.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/coupons.rda",
                sha256: "658d27389c769facdb1ec48cd31af0ec2f8599f76202a597115280760555c698",
                derive: Derive::RdataFrame {
                    rda_sha256: "4d87effce5b8813c0934b581a83292707347577743320ca746878de89cc16f34",
                    object: "coupons",
                    element: None,
                },
            },
            DataFile {
                path: "demographics.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/demographics.rda",
                sha256: "d8afe568aca05d68defbac4652f7989cc7acea9985912501109afb2b9d5d4409",
                derive: Derive::RdataFrame {
                    rda_sha256: "8b80455bc841003b64e47f5e5c2221f6093b995e923d59e72a1f852c7e268980",
                    object: "demographics",
                    element: None,
                },
            },
            DataFile {
                path: "products.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/products.rda",
                sha256: "ffebe0a1251d3ab769aceb8d6898dc6ef70dd0cd52a1421bfc239ff2fd084c5a",
                derive: Derive::RdataFrame {
                    rda_sha256: "a80c6df33623b4af296ae9f317a6647e369db7e8ce7e7baed0e1bf44b9d979e5",
                    object: "products",
                    element: None,
                },
            },
            DataFile {
                path: "promotions_sample.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/promotions_sample.rda",
                sha256: "f8d65184bab484095b82da2784d83ebb02cfdf2e49463b99f23c1a6b498af758",
                derive: Derive::RdataFrame {
                    rda_sha256: "2472944a9605f7a202d745ed17a2bfa3c5475ba898a92bddf7a012eb0c552fa5",
                    object: "promotions_sample",
                    element: None,
                },
            },
            DataFile {
                path: "transactions_sample.csv",
                origin: "https://raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data/transactions_sample.rda",
                sha256: "98e1bc4011e94001fcb9f2966a11dd83a1a35bcb1fd6fad19d942ad04a523333",
                derive: Derive::RdataFrame {
                    rda_sha256: "3abc5ec5a86c25913564a22314ea9ad2ab98160ebe77ee99672e0378929f0a03",
                    object: "transactions_sample",
                    element: None,
                },
            },
        ],
    },
    DataSource {
        name: "cdnow",
        folder: "cdnow",
        title: "CDNOW customer transactions: the cohort of 23,570 customers who first bought in Q1 1997, \
                through June 1998, and the paper's 1/10 sample",
        licence: "Shipped in the Python package Lifetimes 0.11.3 (MIT); research data published by \
                  Fader, Hardie & Lee; cite the paper",
        citation: "Fader, Hardie & Lee (2005), Counting Your Customers the Easy Way: An Alternative to \
                   the Pareto/NBD Model, Marketing Science 24(2)",
        download: Download::Archive {
            url: "https://files.pythonhosted.org/packages/c5/1f/ee6a471dcb5cb2f4dbc219023e07991f3b917875f9c8a5f5d77c00ddabca/Lifetimes-0.11.3-py3-none-any.whl",
            sha256: "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8",
            format: ArchiveFormat::Zip,
        },
        files: &[
            DataFile {
                path: "CDNOW_master.txt",
                origin: "lifetimes/datasets/CDNOW_master.txt",
                sha256: "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "CDNOW_sample.txt",
                origin: "lifetimes/datasets/CDNOW_sample.txt",
                sha256: "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "cdnow_customers_summary.csv",
                origin: "lifetimes/datasets/cdnow_customers_summary.csv",
                sha256: "09d92ca80daaabe8be0f997d4c539f9c9606106baa5b199081fe01cbce5fa9f6",
                derive: Derive::AsIs,
            },
        ],
    },
    DataSource {
        name: "open-bandit",
        folder: "open-bandit-dataset",
        title: "Open Bandit Dataset, small sample ('all' campaign): ZOZOTOWN logged bandit feedback of a \
                uniform-random and a Bernoulli Thompson Sampling policy, 10,000 rounds each",
        licence: "Shipped in the Python package obp 0.5.7 (Apache-2.0); ZOZO publishes the Open Bandit \
                  Dataset under CC BY 4.0",
        citation: "Saito, Aihara, Matsutani & Narita, Open Bandit Dataset and Pipeline: Towards Realistic \
                   and Reproducible Off-Policy Evaluation, NeurIPS 2021 Datasets and Benchmarks",
        download: Download::Archive {
            url: "https://files.pythonhosted.org/packages/5c/c8/3b511884a171091638d00a4255f11a635f33e0600094c255ec820f7a052f/obp-0.5.7.tar.gz",
            sha256: "3060d67fedfcfadf1e7a6f2608987f74412b5eb74d2c567edeb147595c68f2a0",
            format: ArchiveFormat::TarGz,
        },
        files: &[
            DataFile {
                path: "random/all/all.csv",
                origin: "obp-0.5.7/obp/dataset/obd/random/all/all.csv",
                sha256: "7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "random/all/item_context.csv",
                origin: "obp-0.5.7/obp/dataset/obd/random/all/item_context.csv",
                sha256: "eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "bts/all/all.csv",
                origin: "obp-0.5.7/obp/dataset/obd/bts/all/all.csv",
                sha256: "0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "bts/all/item_context.csv",
                origin: "obp-0.5.7/obp/dataset/obd/bts/all/item_context.csv",
                sha256: "5d4359ba1cfa3ae88f0f1bae66bd633859fe6323817183632ee57b83539d9153",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "bts_prior_all.csv",
                origin: "obp-0.5.7/obp/policy/conf/prior_bts.yaml",
                sha256: "d4a801481111103be1362132b34f3980502fcd61681edf3de260d5911936f258",
                derive: Derive::BtsPriorCsv { campaign: "all" },
            },
        ],
    },
    DataSource {
        name: "movielens-100k",
        folder: "movielens-100k",
        title: "MovieLens 100K: 100,000 ratings (1-5) of 1,682 movies by 943 users, 1997-1998, in \
                RecBole's atomic-file format",
        licence: "GroupLens terms: research use, do not redistribute, cite the paper (shipped in the \
                  Python package recbole 1.2.1, MIT)",
        citation: "F. Maxwell Harper and Joseph A. Konstan (2015), The MovieLens Datasets: History and \
                   Context, ACM Transactions on Interactive Intelligent Systems 5(4)",
        download: Download::Archive {
            url: "https://files.pythonhosted.org/packages/ab/fe/7d606cb7cd2b166a36b100cb9435d21014ceee16c192d972deb0976967a8/recbole-1.2.1-py3-none-any.whl",
            sha256: "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
            format: ArchiveFormat::Zip,
        },
        files: &[
            DataFile {
                path: "ml-100k.inter",
                origin: "recbole/dataset_example/ml-100k/ml-100k.inter",
                sha256: "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "ml-100k.item",
                origin: "recbole/dataset_example/ml-100k/ml-100k.item",
                sha256: "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "ml-100k.user",
                origin: "recbole/dataset_example/ml-100k/ml-100k.user",
                sha256: "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "ml-100k.kg",
                origin: "recbole/dataset_example/ml-100k/ml-100k.kg",
                sha256: "200a0636fa07c218119a42e5bac7aa3e26e3665a6f919c1b22909bd412b14779",
                derive: Derive::AsIs,
            },
            DataFile {
                path: "ml-100k.link",
                origin: "recbole/dataset_example/ml-100k/ml-100k.link",
                sha256: "524dca2c3d62619688ab99b3ec53ea2acb9b64d38eafec3e02bdd0dc6bb7d948",
                derive: Derive::AsIs,
            },
        ],
    },
    DataSource {
        name: "online-shoppers",
        folder: "uci-online-shoppers-intention",
        title: "UCI Online Shoppers Purchasing Intention: 12,330 sessions of a Turkish online retailer \
                with a purchase label",
        licence: "CC BY 4.0 (UCI Machine Learning Repository, data set 468)",
        citation: "Sakar, Polat, Katircioglu & Kastro (2019), Real-time prediction of online shoppers' \
                   purchasing intention using multilayer perceptron and LSTM recurrent neural networks, \
                   Neural Computing and Applications 31",
        download: Download::Files,
        files: &[DataFile {
            path: "online_shoppers_intention.csv",
            origin: "https://raw.githubusercontent.com/menaceonzenith/online-shoppers-intentions/f628b67b07cfd1b7816dd5d2a1487bfda0764b77/online_shoppers_intention.csv",
            sha256: "9cda002173422ffbd455fbedcb378cd8b7cea1e6b727faaa39aec08d087d8120",
            derive: Derive::AsIs,
        }],
    },
    DataSource {
        name: "in-vehicle-coupon",
        folder: "uci-in-vehicle-coupon-recommendation",
        title: "UCI in-vehicle coupon recommendation: 12,684 driving scenarios with a coupon offer and \
                whether the respondent would accept it",
        licence: "CC BY 4.0 (UCI Machine Learning Repository, data set 603)",
        citation: "Wang, Rudin, Doshi-Velez, Liu, Klampfl & MacNeille (2017), A Bayesian Framework for \
                   Learning Rule Sets for Interpretable Classification, JMLR 18(70)",
        download: Download::Files,
        files: &[DataFile {
            path: "in-vehicle-coupon-recommendation.csv",
            origin: "https://raw.githubusercontent.com/sergiomarchena16/PFG_Conductores/e0c38f6b626471716a47e46b3f8eff1274a6431d/in-vehicle-coupon-recommendation.csv",
            sha256: "d47897367f5a12a31dece0f4e42d7bd9da76d7016b568da511b50335d08dcb43",
            derive: Derive::SemicolonsToCommas,
        }],
    },
    DataSource {
        name: "scanner-panels",
        folder: "bayesm-scanner-panels",
        title: "Dominick's Finer Foods scanner panels from the R package bayesm 3.1-5: orange juice, \
                tuna, cheese and a margarine household panel",
        licence: "bayesm is GPL-2+ (its CRAN source 3.1-5, as the GitHub mirror cran/bayesm holds it); \
                  orangeJuice and tuna are Dominick's data of the Kilts Center for Marketing, University \
                  of Chicago Booth (acknowledge the Kilts Center; academic research)",
        citation: "Rossi, Allenby & McCulloch, Bayesian Statistics and Marketing (R package bayesm 3.1-5); \
                   James M. Kilts Center, University of Chicago Booth School of Business",
        download: Download::Files,
        files: &[
            DataFile {
                path: "cheese.csv",
                origin: "https://raw.githubusercontent.com/cran/bayesm/8a7211ff5287c42d5bc5cc60406351d97f030bcf/data/cheese.rda",
                sha256: "14098eb2f628ed03a7f42e4ddfe904cf96ad2b393772f5c115bb61d654cf3ace",
                derive: Derive::RdataFrame {
                    rda_sha256: "444f8b485ffab94a180986da9525ec692af211e89dfe78d8ae5f95acf12a196d",
                    object: "cheese",
                    element: None,
                },
            },
            DataFile {
                path: "margarine_choicePrice.csv",
                origin: "https://raw.githubusercontent.com/cran/bayesm/8a7211ff5287c42d5bc5cc60406351d97f030bcf/data/margarine.rda",
                sha256: "f00ff6b32c14793a0a6fc972a142d9aa6d665d708371a1ee5e7aa0730eddf304",
                derive: Derive::RdataFrame {
                    rda_sha256: "2df9b70bff9800e90d061d7089444d7a30218a69910f0615cda1db27a72f69b6",
                    object: "margarine",
                    element: Some("choicePrice"),
                },
            },
            DataFile {
                path: "margarine_demos.csv",
                origin: "https://raw.githubusercontent.com/cran/bayesm/8a7211ff5287c42d5bc5cc60406351d97f030bcf/data/margarine.rda",
                sha256: "58e7cf38db15cf70ec5bcfcaf6647e9fb6b92452e27133173c1f49e374469efe",
                derive: Derive::RdataFrame {
                    rda_sha256: "2df9b70bff9800e90d061d7089444d7a30218a69910f0615cda1db27a72f69b6",
                    object: "margarine",
                    element: Some("demos"),
                },
            },
            DataFile {
                path: "orangeJuice_storedemo.csv",
                origin: "https://raw.githubusercontent.com/cran/bayesm/8a7211ff5287c42d5bc5cc60406351d97f030bcf/data/orangeJuice.rda",
                sha256: "5f81380e70ef6ce85ee41e52061bb544a064e1b351ccce45f6573a76431d9b5e",
                derive: Derive::RdataFrame {
                    rda_sha256: "4418b33f320a1e91124e934d4c7e3e978812e9c60b6924037447ffc44cf71855",
                    object: "orangeJuice",
                    element: Some("storedemo"),
                },
            },
            DataFile {
                path: "orangeJuice_yx.csv",
                origin: "https://raw.githubusercontent.com/cran/bayesm/8a7211ff5287c42d5bc5cc60406351d97f030bcf/data/orangeJuice.rda",
                sha256: "f93c9f4a7dbd82b20e00f289a9c827182464f33f711307af08701d1b712cc8aa",
                derive: Derive::RdataFrame {
                    rda_sha256: "4418b33f320a1e91124e934d4c7e3e978812e9c60b6924037447ffc44cf71855",
                    object: "orangeJuice",
                    element: Some("yx"),
                },
            },
            DataFile {
                path: "tuna.csv",
                origin: "https://raw.githubusercontent.com/cran/bayesm/8a7211ff5287c42d5bc5cc60406351d97f030bcf/data/tuna.rda",
                sha256: "748d3b274c8e0d59389f4efbb0f6fc76cab92b7e59de1f239638ff639a8ab884",
                derive: Derive::RdataFrame {
                    rda_sha256: "18b3b4f4a8a95b63086b5eeb092679c0cc5d27761ba8a2976b11f94bff92cde6",
                    object: "tuna",
                    element: None,
                },
            },
        ],
    },
];
